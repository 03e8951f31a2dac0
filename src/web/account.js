// Your account: sessions, API tokens, two-factor login.
'use strict';

async function loadSessions() {
  const list = await api('GET', '/api/v1/sessions');
  $('sessions').replaceChildren(...list.map((s) => row(
    [s.source, when(s.created_ms)],
    s.current ? cell('span', 'this one') : button('Sign out', async () => {
      await api('DELETE', `/api/v1/sessions/${s.id}`);
      loadSessions();
    }),
  )));
}

async function loadTokens() {
  const list = await api('GET', '/api/v1/tokens');
  $('tokens').replaceChildren(...list.map((t) => row(
    [t.name, t.expires_ms ? when(t.expires_ms) : 'never'],
    button('Revoke', async () => { await api('DELETE', `/api/v1/tokens/${t.id}`); loadTokens(); }),
  )));
}

$('new-token').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  message('');
  try {
    const t = await api('POST', '/api/v1/tokens', { name: $('token-name').value });
    $('token-value').textContent = t.token;
    $('token-shown').hidden = false;
    $('token-name').value = '';
    loadTokens();
  } catch (e) { message(e.message); }
});

$('totp-begin').addEventListener('click', async () => {
  message('');
  try {
    const e = await api('POST', '/api/v1/totp');
    // The SVG is the server's own output, shown as an image (a data: URL
    // is allowed by the CSP for images), never inserted as markup.
    $('totp-qr').src = `data:image/svg+xml;base64,${btoa(e.qr_svg)}`;
    $('totp-secret').textContent = e.secret;
    $('totp-enrol').hidden = false;
    $('totp-code').focus();
  } catch (e) { message(e.message); }
});

$('totp-confirm').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  message('');
  try {
    const r = await api('POST', '/api/v1/totp/confirm', { code: $('totp-code').value });
    $('recovery-codes').replaceChildren(...r.recovery_codes.map((c) => cell('li', c)));
    $('totp-enrol').hidden = true;
    $('totp-recovery').hidden = false;
  } catch (e) { message(e.message); }
});

$('totp-off').addEventListener('click', async () => {
  message('');
  try {
    await api('DELETE', '/api/v1/totp');
    $('totp-recovery').hidden = true;
    message('Two-factor login is off.');
  } catch (e) { message(e.message); }
});

whoami()
  .then((me) => { $('admin-link').hidden = me.role !== 'admin'; })
  .then(() => Promise.all([loadSessions(), loadTokens()]))
  .catch((e) => message(e.message));
