// Sign in, then go back where the visitor came from (a path on this box
// only: never another site).
'use strict';

// Parsed as the browser would follow it: `/\evil.org` or a tab after the
// slash would otherwise lead off the box.
function target() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  try {
    const u = new URL(next, location.origin);
    // A path starting with `//` would be read as another host once more.
    if (u.origin !== location.origin || u.pathname.startsWith('//')) return '/';
    return u.pathname + u.search + u.hash;
  } catch (e) {
    return '/';
  }
}

const form = $('login');

function askSecondFactor() {
  $('second').hidden = false;
  $('totp').required = true;
  say('login-message', 'Your password is right. This account also asks for a code from your authenticator app.', 'info');
  $('totp').focus();
}

onSubmit(form, async () => {
  const body = { username: $('username').value, password: $('password').value };
  if (!body.username) { fieldError($('username'), 'Enter your username.'); return; }
  if (!body.password) { fieldError($('password'), 'Enter your password.'); return; }
  if (!$('second').hidden) {
    body.totp = $('totp').value.trim();
    if (!body.totp) { fieldError($('totp'), 'Enter the code from your app.'); return; }
  }
  try {
    await api('POST', '/api/v1/session', body, { signIn: false });
  } catch (e) {
    if (e.code === 'totp_required') { askSecondFactor(); return; }
    if (e.code === 'totp_wrong') {
      // The password was right: keep it, ask for the code again.
      $('totp').value = '';
      throw Object.assign(e, { field: 'totp' });
    }
    if (e.status === 401) {
      $('password').value = '';
      throw Object.assign(e, { field: 'password' });
    }
    throw e;
  }
  // The browser stores the cookie on its own schedule: wait until a
  // request carries it, or the next page would find us signed out.
  for (let i = 0; i < 20; i++) {
    const me = await fetch('/api/v1/session', { credentials: 'same-origin' }).catch(() => null);
    if (me && me.ok) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  location.assign(target());
});

$('show-password').addEventListener('click', () => {
  const shown = $('password').type === 'text';
  $('password').type = shown ? 'password' : 'text';
  $('show-password').textContent = shown ? 'Show' : 'Hide';
  $('show-password').setAttribute('aria-pressed', String(!shown));
});

shell({ page: 'login' });
$('username').focus();
