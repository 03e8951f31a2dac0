// Your account: password, two-factor login, where you are signed in, API
// tokens, and (members and admins) the certificates that let `docker` on
// your computer reach your servers. Every change answers with a message
// that is not red, and every failure sits beside the field it is about.
'use strict';

const account = { me: null };

async function loadSessions() {
  const list = await api('GET', '/api/v1/sessions');
  $('sessions').replaceChildren(...list.map((s) => {
    const browser = el('span', s.agent || 'unknown browser');
    browser.title = `signed in ${when(s.created_ms)}`;
    return row(
      [browser, s.source, s.current ? 'now (this browser)' : ago(s.last_seen_ms)],
      s.current ? el('span', 'this one', 'muted') : labelled(button('Sign out', async () => {
        try {
          await api('DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`);
          await loadSessions();
          say('message', `Signed out ${s.agent || 'that browser'} (${s.source}).`, 'ok');
        } catch (e) { say('message', e.message, 'error'); }
      }), `Sign out ${s.agent || 'that browser'} at ${s.source}`),
    );
  }));
}

async function loadTokens() {
  const list = await api('GET', '/api/v1/tokens');
  $('tokens').replaceChildren(...list.map((t) => row(
    [t.name, t.expires_ms ? when(t.expires_ms) : 'never'],
    labelled(button('Revoke', async () => {
      const sure = await confirmAction({
        title: `Revoke the token “${t.name}”?`,
        text: 'Programs using it lose access at once. This cannot be undone.',
        confirm: 'Revoke',
      });
      if (!sure) return;
      try {
        await api('DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`);
        await loadTokens();
        say('message', `Token “${t.name}” revoked.`, 'ok');
      } catch (e) { say('message', e.message, 'error'); }
    }), `Revoke the token ${t.name}`),
  )));
  if (!list.length) {
    const tr = el('tr');
    const td = el('td', 'No tokens yet.', 'muted');
    td.colSpan = 3;
    tr.appendChild(td);
    $('tokens').appendChild(tr);
  }
}

// --- Server certificates --------------------------------------------------
// The caller's own: the API gives an admin everyone's, which the servers
// page shows; here is one's own account. A failure is said in the
// section, and the rest of the page still works.

// How many hex digits of the SHA-256 show (the certificate's id); the
// whole fingerprint is the title.
const FINGERPRINT_SHOWN = 16;

async function loadCerts() {
  let list;
  try {
    const r = await api('GET', '/api/v1/server-certificates');
    list = r.certificates
      .filter((c) => c.owner === account.me.username)
      .sort((a, b) => b.created_ms - a.created_ms);
  } catch (e) {
    say('certs-message', e.message, 'error');
    return;
  }
  $('certs').replaceChildren(...list.map(certItem));
  $('certs-none').hidden = list.length > 0;
}

// One certificate: when it was made, its fingerprint (the first digits;
// all of them in the title) and whether it still works, in words.
function certItem(c) {
  const li = el('li', null, 'domain');
  li.dataset.id = c.id;
  const head = el('div', null, 'domain-head');
  const state = el('span', c.revoked_ms ? 'revoked' : 'active', `pill${c.revoked_ms ? '' : ' on'}`);
  state.dataset.field = 'state';
  head.append(el('h3', `Made ${when(c.created_ms)}`), state);
  li.appendChild(head);
  const dl = el('dl', null, 'summary');
  const fingerprint = el('code', `${c.fingerprint.slice(0, FINGERPRINT_SHOWN)}…`);
  fingerprint.title = c.fingerprint;
  const dd = el('dd');
  dd.appendChild(fingerprint);
  dl.append(el('dt', 'Fingerprint'), dd);
  if (c.revoked_ms) dl.append(el('dt', 'Revoked'), el('dd', when(c.revoked_ms)));
  li.appendChild(dl);
  if (!c.revoked_ms) {
    const actions = el('div', null, 'buttons domain-actions');
    actions.appendChild(labelled(button('Revoke', () => revokeCert(c)), `Revoke the certificate ${c.id}`));
    li.appendChild(actions);
  }
  return li;
}

async function revokeCert(c) {
  const sure = await confirmAction({
    title: `Revoke the certificate ${c.id}?`,
    text: 'docker on the computers that have it can no longer reach your servers. This cannot be undone.',
    confirm: 'Revoke',
  });
  if (!sure) return;
  try {
    await api('DELETE', `/api/v1/server-certificates/${encodeURIComponent(c.id)}`);
    await loadCerts();
    say('certs-message', `Certificate ${c.id} revoked.`, 'ok');
  } catch (e) { say('certs-message', e.message, 'error'); }
}

// The command for the caller's first server, as the servers page shows
// it; null without one (or when the list cannot be read: the files
// matter more, and the servers page has the command too).
async function firstCommand() {
  try {
    const { servers } = await api('GET', '/api/v1/servers');
    const own = servers.filter((s) => s.owner === account.me.username && s.engine_port && !s.deleting);
    return own.length ? { command: contextCommand(own[0]), more: own.length > 1 } : null;
  } catch (e) { return null; }
}

$('cert-issue').addEventListener('click', async () => {
  const issue = $('cert-issue');
  issue.disabled = true;
  say('certs-message', '');
  try {
    const c = await api('POST', '/api/v1/server-certificates');
    const files = $('cert-files');
    for (const a of files.querySelectorAll('a')) URL.revokeObjectURL(a.href);
    files.replaceChildren(...[['ca.pem', c.ca], ['cert.pem', c.certificate], ['key.pem', c.key]]
      .map(([name, text]) => { const li = el('li'); li.appendChild(download(name, text)); return li; }));
    const first = await firstCommand();
    $('cert-command-hint').textContent = !first
      ? 'Then make a server on the Servers page: the docker context command for these files shows beside it.'
      : `Then, in that folder${first.more ? ' (the Servers page shows the command for each of your servers)' : ''}:`;
    $('cert-command').textContent = first ? first.command : '';
    $('cert-command').hidden = !first;
    $('cert-shown').hidden = false;
    await loadCerts();
  } catch (e) {
    say('certs-message', e.message, 'error');
  } finally {
    issue.disabled = false;
  }
});

onSubmit($('change-password'), async () => {
  const current = $('current-password').value;
  const fresh = $('new-password').value;
  if (!current) { fieldError($('current-password'), 'Enter your current password.'); return; }
  if (fresh.length < 12) { fieldError($('new-password'), 'Use at least 12 characters.'); return; }
  if (fresh !== $('new-password2').value) { fieldError($('new-password2'), 'The two new passwords differ.'); return; }
  await api('POST', '/api/v1/session/password', { current_password: current, new_password: fresh });
  $('change-password').reset();
  await loadSessions();
  say('message', 'Password changed. Your other sessions were signed out; your API tokens still work (revoke any you no longer trust below).', 'ok');
}, { current_password: 'current-password', new_password: 'new-password' });

onSubmit($('new-token'), async () => {
  const name = $('token-name').value.trim();
  if (!name) { fieldError($('token-name'), 'Give the token a name, such as the program that uses it.'); return; }
  const days = $('token-expiry').value;
  const body = { name };
  if (days) body.expires_at = Math.floor(Date.now() / 1000) + Number(days) * 86400;
  const t = await api('POST', '/api/v1/tokens', body);
  $('token-value').textContent = t.token;
  $('token-copy').replaceChildren(copyButton('Copy token', () => t.token));
  $('token-shown').hidden = false;
  $('token-name').value = '';
  loadTokens();
}, { name: 'token-name', expires_at: 'token-expiry' });

function showTwoFactor(on) {
  $('totp-state').textContent = on ? 'on' : 'off';
  $('totp-begin').hidden = on;
  $('totp-off').hidden = !on;
  if (on) $('totp-enrol').hidden = true;
}

$('totp-begin').addEventListener('click', async () => {
  say('message', '');
  try {
    const e = await api('POST', '/api/v1/totp');
    // The SVG is the server's own output, shown as an image (a data: URL
    // is allowed by the CSP for images), never inserted as markup.
    $('totp-qr').src = `data:image/svg+xml;base64,${btoa(e.qr_svg)}`;
    $('totp-secret').textContent = e.secret;
    $('totp-enrol').hidden = false;
    $('totp-begin').hidden = true;
    $('totp-code').focus();
  } catch (e) { say('message', e.message, 'error'); }
});

onSubmit($('totp-confirm'), async () => {
  const r = await api('POST', '/api/v1/totp/confirm', { code: $('totp-code').value.trim() });
  $('recovery-codes').replaceChildren(...r.recovery_codes.map((c) => el('li', c)));
  $('recovery-copy').replaceChildren(copyButton('Copy recovery codes', () => r.recovery_codes.join('\n')));
  $('totp-recovery').hidden = false;
  $('totp-code').value = '';
  showTwoFactor(true);
  say('message', 'Two-factor login is on.', 'ok');
}, { code: 'totp-code' });

$('totp-off').addEventListener('click', async () => {
  const sure = await confirmAction({
    title: 'Turn two-factor login off?',
    text: 'Signing in will ask for your password only. Your recovery codes stop working.',
    confirm: 'Turn off',
  });
  if (!sure) return;
  try {
    await api('DELETE', '/api/v1/totp');
    $('totp-recovery').hidden = true;
    showTwoFactor(false);
    say('message', 'Two-factor login is off.', 'ok');
  } catch (e) { say('message', e.message, 'error'); }
});

shell({ page: 'account' })
  .then(async ({ me }) => {
    if (!me) { location.assign('/login?next=/account'); return; }
    account.me = me;
    showTwoFactor(Boolean(me.two_factor));
    // A viewer has no servers, so no certificates for them.
    const servers = me.role === 'admin' || me.role === 'member';
    $('certs-section').hidden = !servers;
    await Promise.all([loadSessions(), loadTokens(), servers ? loadCerts() : null]);
  })
  .catch((e) => say('message', e.message, 'error'));
