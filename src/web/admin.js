// Administration: users, settings, the audit log.
'use strict';

async function loadUsers() {
  const users = await api('GET', '/api/v1/users');
  $('users').replaceChildren(...users.map((u) => {
    const actions = cell('span');
    actions.appendChild(button(u.disabled ? 'Enable' : 'Disable', async () => {
      try { await api('PATCH', `/api/v1/users/${u.username}`, { disabled: !u.disabled }); loadUsers(); } catch (e) { message(e.message); }
    }));
    actions.appendChild(button('Delete', async () => {
      try { await api('DELETE', `/api/v1/users/${u.username}`); loadUsers(); } catch (e) { message(e.message); }
    }));
    return row([u.username, u.disabled ? `${u.role} (disabled)` : u.role], actions);
  }));
}

$('new-user').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  message('');
  try {
    await api('POST', '/api/v1/users', {
      username: $('new-username').value, password: $('new-password').value, role: $('new-role').value,
    });
    $('new-username').value = '';
    $('new-password').value = '';
    loadUsers();
  } catch (e) { message(e.message); }
});

$('public-status').addEventListener('change', async () => {
  try { await api('PATCH', '/api/v1/settings', { public_status: $('public-status').checked }); } catch (e) { message(e.message); }
});

// The log, newest pages last; "Older entries" is simply the next page.
let auditAfter = 0;
async function loadAudit(reset) {
  if (reset) { auditAfter = 0; $('audit').replaceChildren(); }
  const actor = $('audit-actor').value.trim();
  const q = new URLSearchParams({ after: String(auditAfter), limit: '50' });
  if (actor) q.set('actor', actor);
  const page = await api('GET', `/api/v1/audit?${q}`);
  for (const r of page.records) {
    const tr = document.createElement('tr');
    [when(r.time_ms), r.actor, `${r.action} ${r.target}`, r.outcome].forEach((v, i) => {
      const c = cell(i === 0 ? 'th' : 'td', v);
      if (i === 0) c.scope = 'row';
      tr.appendChild(c);
    });
    $('audit').appendChild(tr);
  }
  auditAfter = page.next || auditAfter;
  $('audit-more').hidden = !page.next;
}
$('audit-more').addEventListener('click', () => loadAudit(false).catch((e) => message(e.message)));
$('audit-actor').addEventListener('change', () => loadAudit(true).catch((e) => message(e.message)));

whoami()
  .then(async () => {
    const s = await api('GET', '/api/v1/settings');
    $('public-status').checked = s.public_status;
    await Promise.all([loadUsers(), loadAudit(true)]);
  })
  .catch((e) => message(e.message));
