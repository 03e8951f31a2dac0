// Administration: users (add, role, enable, delete, reset a password),
// settings, and the audit log in words, newest first and live.
'use strict';

// The signed-in admin: their own row offers no Disable or Delete.
let me = null;

// --- Users -----------------------------------------------------------

function roleSelect(u) {
  const s = el('select');
  s.setAttribute('aria-label', `Role of ${u.username}`);
  for (const r of ['admin', 'member', 'viewer']) {
    const o = el('option', r);
    o.value = r;
    o.selected = r === u.role;
    s.appendChild(o);
  }
  s.addEventListener('change', async () => {
    try {
      await api('PATCH', `/api/v1/users/${encodeURIComponent(u.username)}`, { role: s.value });
      await loadUsers();
      say('message', `${u.username} is now ${s.value === 'admin' ? 'an' : 'a'} ${s.value}.`, 'ok');
    } catch (e) {
      say('message', e.message, 'error');
      loadUsers();
    }
  });
  return s;
}

// Why an account offers no Disable or Delete, or null when it may.
function protectedBecause(u, users) {
  if (u.username === me.username) return 'you';
  const admins = users.filter((x) => x.role === 'admin' && !x.disabled);
  if (u.role === 'admin' && !u.disabled && admins.length === 1) return 'the only admin';
  return null;
}

function userActions(u, users) {
  const why = protectedBecause(u, users);
  if (why) return el('span', why, 'muted');
  const toggle = button(u.disabled ? 'Enable' : 'Disable', async () => {
    try {
      await api('PATCH', `/api/v1/users/${encodeURIComponent(u.username)}`, { disabled: !u.disabled });
      await loadUsers();
      say('message', `${u.username} is ${u.disabled ? 'enabled again' : 'disabled and signed out'}.`, 'ok');
    } catch (e) { say('message', e.message, 'error'); }
  });
  const del = button('Delete', async () => {
    const sure = await confirmAction({
      title: `Delete ${u.username}?`,
      text: `${u.username} is signed out and can no longer sign in. This cannot be undone.`,
      confirm: 'Delete',
    });
    if (!sure) return;
    try {
      await api('DELETE', `/api/v1/users/${encodeURIComponent(u.username)}`);
      await loadUsers();
      say('message', `${u.username} was deleted.`, 'ok');
    } catch (e) { say('message', e.message, 'error'); }
  });
  return [
    labelled(toggle, `${u.disabled ? 'Enable' : 'Disable'} ${u.username}`),
    labelled(del, `Delete ${u.username}`),
  ];
}

async function loadUsers() {
  const users = await api('GET', '/api/v1/users');
  $('users').replaceChildren(...users.map((u) => {
    const role = u.username === me.username ? el('span', u.role) : roleSelect(u);
    const name = el('span', u.username);
    if (u.disabled) name.append(' ', el('span', 'disabled', 'pill'));
    return row([name, role], userActions(u, users));
  }));
  const chosen = $('reset-user').value;
  $('reset-user').replaceChildren(...users.filter((u) => u.username !== me.username).map((u) => {
    const o = el('option', u.username);
    o.value = u.username;
    o.selected = u.username === chosen;
    return o;
  }));
  $('reset-password').hidden = $('reset-user').options.length === 0;
}

onSubmit($('new-user'), async () => {
  const username = $('new-username').value.trim();
  if (!username) { fieldError($('new-username'), 'Enter a username.'); return; }
  if ($('new-password').value.length < 12) { fieldError($('new-password'), 'Use at least 12 characters.'); return; }
  await api('POST', '/api/v1/users', {
    username, password: $('new-password').value, role: $('new-role').value,
  });
  $('new-user').reset();
  await loadUsers();
  say('message', `${username} was added.`, 'ok');
}, { username: 'new-username', password: 'new-password', role: 'new-role' });

onSubmit($('reset-password'), async () => {
  const username = $('reset-user').value;
  if ($('reset-new').value.length < 12) { fieldError($('reset-new'), 'Use at least 12 characters.'); return; }
  await api('PATCH', `/api/v1/users/${encodeURIComponent(username)}`, { password: $('reset-new').value });
  $('reset-new').value = '';
  say('message', `${username}'s password was reset; their sessions ended.`, 'ok');
}, { password: 'reset-new' });

$('public-status').addEventListener('change', async () => {
  const on = $('public-status').checked;
  try {
    await api('PATCH', '/api/v1/settings', { public_status: on });
    say('message', on ? 'The status page is now public on the network.' : 'The status page now needs a sign-in.', 'ok');
  } catch (e) {
    $('public-status').checked = !on;
    say('message', e.message, 'error');
  }
});

// --- The audit log ---------------------------------------------------

// What an action means, in words; `t` is its target.
const ACTIONS = {
  'daemon.start': () => 'started',
  'daemon.stop': () => 'stopped',
  'session.login': () => 'signed in',
  'session.logout': () => 'signed out',
  'session.revoke': () => 'ended one of their sessions',
  'settings.public_status': (t) => `set the public status page ${t === 'true' ? 'on' : t === 'false' ? 'off' : t}`,
  'setup.claim': () => 'claimed the box with the setup code',
  'setup.admin': (t) => `created the admin account ${t}`,
  'setup.host': (t) => `named the box ${t}`,
  'setup.domain': (t) => (t ? `set the domain ${t}` : 'chose no domain'),
  'setup.finish': () => 'finished the setup',
  'setup.complete': () => 'finished the setup',
  'setup.code_rotate': () => 'made a new setup code',
  'token.create': (t) => `created the API token ${t}`,
  'token.revoke': (t) => `revoked the API token ${t}`,
  'totp.begin': () => 'began setting up two-factor login',
  'totp.enable': () => 'turned two-factor login on',
  'totp.disable': () => 'turned two-factor login off',
  'user.create': (t) => `added the user ${t}`,
  'user.update': (t) => `changed the user ${t}`,
  'user.delete': (t) => `deleted the user ${t}`,
  'user.password': () => 'changed their password',
};
const OUTCOMES = { failure: 'failed', denied: 'refused' };

function auditWords(r) {
  const words = ACTIONS[r.action];
  const who = r.actor === 'system' ? 'hearth' : r.actor;
  return `${who} ${words ? words(r.target) : `${r.action} ${r.target}`}`;
}

function auditRow(r) {
  const what = el('span', auditWords(r));
  what.title = `${r.action} ${r.target}`;
  if (OUTCOMES[r.outcome]) what.append(' ', el('span', OUTCOMES[r.outcome], `pill ${r.outcome}`));
  const tr = row([when(r.time_ms), what, r.source]);
  tr.dataset.id = String(r.id);
  if (OUTCOMES[r.outcome]) tr.className = 'audit-bad';
  return tr;
}

// The filter applied (not what is being typed), where the next older page
// starts, and a generation: a page that arrives after the filter changed
// belongs to the old one and is dropped.
const audit = { actor: '', before: null, generation: 0 };

async function loadAudit(reset) {
  if (reset) {
    audit.actor = $('audit-actor').value.trim();
    audit.before = null;
    audit.generation += 1;
    $('audit').replaceChildren();
  }
  const generation = audit.generation;
  const q = new URLSearchParams({ limit: '50' });
  if (audit.before) q.set('before', String(audit.before));
  if (audit.actor) q.set('actor', audit.actor);
  $('audit-more').disabled = true;
  try {
    const page = await api('GET', `/api/v1/audit?${q}`);
    if (generation !== audit.generation) return;
    $('audit').append(...page.records.map(auditRow));
    audit.before = page.next || null;
    if (!page.next && document.activeElement === $('audit-more')) $('h-audit').focus();
    $('audit-more').hidden = !page.next;
  } finally {
    $('audit-more').disabled = false;
  }
}

// New records appear at the top as they are written. The stream is let
// go when the page is left (a page in the back/forward cache would hold
// one of the streams its address may have), and taken again on return.
let auditStream = null;
addEventListener('pagehide', () => { if (auditStream) auditStream.close(); });
addEventListener('pageshow', (ev) => { if (ev.persisted && auditStream) followAudit(); });

function followAudit() {
  const events = new EventSource('/api/v1/events?topics=audit');
  auditStream = events;
  events.addEventListener('audit', (e) => {
    const r = JSON.parse(e.data);
    if (audit.actor && r.actor !== audit.actor) return;
    if ($('audit').querySelector(`tr[data-id="${r.id}"]`)) return;
    $('audit').prepend(auditRow(r));
  });
}

$('audit-more').addEventListener('click', () => loadAudit(false).catch((e) => say('message', e.message, 'error')));
$('audit-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadAudit(true).catch((e) => say('message', e.message, 'error'));
});

shell({ page: 'admin' })
  .then(async (s) => {
    me = s.me;
    if (!me) { location.assign('/login?next=/admin'); return; }
    if (me.role !== 'admin') {
      $('your-role').textContent = me.role;
      $('no-access').hidden = false;
      return;
    }
    $('admin').hidden = false;
    const settings = await api('GET', '/api/v1/settings');
    $('public-status').checked = settings.public_status;
    await Promise.all([loadUsers(), loadAudit(true)]);
    followAudit();
  })
  .catch((e) => { $('admin').hidden = false; say('message', e.message, 'error'); });
