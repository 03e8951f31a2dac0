// Sign in, then go back where the visitor came from (a path on this box
// only: never another site).
'use strict';

const $ = (id) => document.getElementById(id);

function target() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function message(text) {
  $('message').textContent = text || '';
  $('message').hidden = !text;
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  message('');
  try {
    const r = await fetch('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.assign(
        { username: $('username').value, password: $('password').value },
        $('second').hidden ? {} : { totp: $('totp').value },
      )),
      credentials: 'same-origin',
    });
    if (r.ok) {
      // The browser stores the cookie on its own schedule: wait until a
      // request carries it, or the next page would find us signed out.
      for (let i = 0; i < 20; i++) {
        const me = await fetch('/api/v1/session', { credentials: 'same-origin' });
        if (me.ok) break;
        await new Promise((done) => setTimeout(done, 100));
      }
      location.assign(target());
      return;
    }
    const data = await r.json().catch(() => ({}));
    if (data.error && data.error.code === 'totp_required') {
      // The password was right; this account also asks for a code.
      $('second').hidden = false;
      $('totp').required = true;
      message('Enter the code from your authenticator app.');
      $('totp').focus();
      return;
    }
    message((data.error && data.error.message) || `Sign-in failed (${r.status}).`);
    $('password').value = '';
    $('password').focus();
  } catch (e) {
    message('The box did not answer. Try again.');
  }
});
$('username').focus();
