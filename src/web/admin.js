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

// A switch of the box's settings: sets `key` to whether it is on, says
// what that means in `said(on)`, and turns back when the box refuses.
function settingSwitch(id, key, said) {
  $(id).addEventListener('change', async () => {
    const on = $(id).checked;
    try {
      await api('PATCH', '/api/v1/settings', { [key]: on });
      say('message', said(on), 'ok');
    } catch (e) {
      $(id).checked = !on;
      say('message', e.message, 'error');
    }
  });
}

settingSwitch('public-status', 'public_status', (on) => (on ? 'The status page is now public on the network.' : 'The status page now needs a sign-in.'));
settingSwitch('console-shell', 'console_shell', (on) => (on ? 'The box\'s console now offers a root shell.' : 'The box\'s console no longer offers a root shell.'));

// --- The firewall ----------------------------------------------------

// What the page knows of the firewall: the policy as last read (its
// version, whether it is managed here), the newest report of its manager,
// a change awaiting confirmation that the page follows, and whether an
// Apply is on its way.
const fw = {
  view: null,
  report: null,
  waiting: null,
  applying: false,
  ids: 0,
  // Versions whose confirmation window this page has seen end.
  done: new Set(),
  // The line of the text area each sent `https_from` entry came from.
  httpsLines: [],
};

const FW_CONFIRM_EVERY_MS = 1000;

function fwId(what) {
  fw.ids += 1;
  return `fw-${what}-${fw.ids}`;
}

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

function fwBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n) || 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// "a b, c" → ["a", "b", "c"]
function fwList(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function fwInput(cls, value) {
  const i = el('input', null, cls);
  i.id = fwId(cls);
  i.value = value === undefined || value === null ? '' : String(value);
  i.autocomplete = 'off';
  i.spellcheck = false;
  i.setAttribute('autocapitalize', 'none');
  return i;
}

function fwProtocol(value) {
  const s = el('select', null, 'fw-protocol');
  s.id = fwId('protocol');
  for (const p of ['tcp', 'udp']) {
    const o = el('option', p);
    o.value = p;
    o.selected = p === (value || 'tcp');
    s.appendChild(o);
  }
  return s;
}

// One row of the open ports (`allow`) or of the port forwards.
function fwRuleRow(kind, rule = {}) {
  const fields = kind === 'allow'
    ? [fwProtocol(rule.protocol), fwInput('fw-ports', rule.ports), fwInput('fw-from', (rule.from || []).join(' '))]
    : [fwProtocol(rule.protocol), fwInput('fw-port', rule.port), fwInput('fw-to', rule.to),
      fwInput('fw-to-port', rule.to_port), fwInput('fw-from', (rule.from || []).join(' '))];
  const remove = button('Remove', () => {
    const body = tr.parentElement;
    const next = tr.nextElementSibling || tr.previousElementSibling;
    tr.remove();
    fwRenumber();
    // The focus stays in the table, or goes to the Add button.
    const target = next ? next.querySelector('button') : $(kind === 'allow' ? 'fw-add-allow' : 'fw-add-forward');
    if (target && body) target.focus();
  });
  remove.classList.add('fw-remove');
  const tr = row([el('span', '', 'fw-number'), ...fields], [remove]);
  return tr;
}

// Row numbers, and the names screen readers give each field, after rows
// came or went.
function fwRenumber() {
  const name = { allow: 'open port', forwards: 'port forward' };
  for (const kind of ['allow', 'forwards']) {
    const rows = Array.from($(`fw-${kind}`).rows);
    rows.forEach((tr, i) => {
      const what = `${name[kind]} ${i + 1}`;
      tr.querySelector('.fw-number').textContent = String(i + 1);
      const label = (cls, text) => {
        const e = tr.querySelector(`.${cls}`);
        if (e) e.setAttribute('aria-label', `${text} of ${what}`);
      };
      label('fw-protocol', 'Protocol');
      label('fw-ports', 'Ports');
      label('fw-port', 'Port');
      label('fw-to', 'Target address');
      label('fw-to-port', 'Target port');
      label('fw-from', 'Sources');
      tr.querySelector('.fw-remove').setAttribute('aria-label', `Remove ${what}`);
    });
    // An empty table says nothing (and would scroll with nothing to
    // focus at a phone's width): a line says so instead.
    $(`fw-${kind}`).closest('.table-wrap').hidden = rows.length === 0;
    $(`fw-${kind}-none`).hidden = rows.length > 0;
  }
}

function fwFill(policy) {
  $('fw-https-from').value = (policy.https_from || []).join('\n');
  $('fw-web').checked = Boolean(policy.web);
  $('fw-allow').replaceChildren(...(policy.allow || []).map((a) => fwRuleRow('allow', a)));
  $('fw-forwards').replaceChildren(...(policy.forwards || []).map((f) => fwRuleRow('forwards', f)));
  fwRenumber();
}

// The policy as the form has it, in the API's shape; the server checks it.
function fwPolicy() {
  const https_from = [];
  fw.httpsLines = [];
  $('fw-https-from').value.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    https_from.push(t);
    fw.httpsLines.push(i + 1);
  });
  const value = (tr, cls) => tr.querySelector(`.${cls}`).value.trim();
  return {
    https_from,
    web: $('fw-web').checked,
    allow: Array.from($('fw-allow').rows, (tr) => ({
      protocol: value(tr, 'fw-protocol'),
      ports: value(tr, 'fw-ports'),
      from: fwList(value(tr, 'fw-from')),
    })),
    forwards: Array.from($('fw-forwards').rows, (tr) => ({
      protocol: value(tr, 'fw-protocol'),
      port: value(tr, 'fw-port'),
      to: value(tr, 'fw-to'),
      to_port: value(tr, 'fw-to-port'),
      from: fwList(value(tr, 'fw-from')),
    })),
  };
}

// The server names rules by their place in the policy (`forwards[0]`):
// in words, as the page numbers them.
function fwWords(text) {
  return text
    .replace(/\bforwards\[(\d+)\]/gi, (m, i) => `port forward ${Number(i) + 1}`)
    .replace(/\ballow\[(\d+)\]/gi, (m, i) => `open port ${Number(i) + 1}`)
    .replace(/set drop_my_access/g, 'tick “I know this cuts off my own address”');
}

// The input a failed field (`allow[2].ports`, `https_from[1]`) names, and
// what to call it in front of the server's message ("must be ..."): the
// value typed, where that reads best.
function fwField(field) {
  const typed = (v) => (v ? `“${v}”` : null);
  let m = /^https_from(?:\[(\d+)\])?$/.exec(field);
  if (m) {
    const input = $('fw-https-from');
    if (m[1] === undefined) return { input, subject: 'This list' };
    const line = fw.httpsLines[Number(m[1])];
    const text = line ? input.value.split('\n')[line - 1].trim() : '';
    return { input, subject: line ? `Line ${line} (${typed(text)})` : 'A line' };
  }
  m = /^(allow|forwards)\[(\d+)\]\.(\w+)(?:\[(\d+)\])?$/.exec(field);
  if (m) {
    const tr = $(`fw-${m[1]}`).rows[Number(m[2])];
    const cls = {
      protocol: 'fw-protocol', ports: 'fw-ports', port: 'fw-port', to: 'fw-to', to_port: 'fw-to-port', from: 'fw-from',
    }[m[3]];
    const input = tr && cls && tr.querySelector(`.${cls}`);
    if (!input) return null;
    const value = input.value.trim();
    let subject = {
      protocol: 'The protocol',
      ports: typed(value) || 'The ports',
      port: 'This port',
      to: typed(value) || 'The target address',
      to_port: 'The target port',
      from: 'The list of sources',
    }[m[3]];
    if (m[4] !== undefined) subject = typed(fwList(value)[Number(m[4])]) || 'A source';
    return { input, subject };
  }
  if (field === 'confirm') return { input: $('fw-no-confirm'), subject: 'Confirmation' };
  return null;
}

// A refused Apply: at the field it names, or in the section's box.
function fwShowError(e) {
  say('fw-message', '');
  let raw = e.message.charAt(0).toLowerCase() + e.message.slice(1);
  // The server's message may start with the field's path ("allow[0].ports
  // is ..."): the page says which field by placing it there.
  const lead = `${e.field || ''} `;
  if (e.field && raw.toLowerCase().startsWith(lead.toLowerCase())) raw = raw.slice(lead.length);
  if (e.status === 400 && e.field) {
    if (e.field === 'https_from' && /drop_my_access/.test(raw)) $('fw-drop-row').hidden = false;
    const at = fwField(e.field);
    if (at) {
      fieldError(at.input, fwWords(`${at.subject} ${raw}`));
      return;
    }
  }
  say('fw-message', fwWords(e.message), 'error');
}

// --- A change awaiting confirmation ---

function fwLeftS(w) {
  return Math.max(0, Math.ceil((w.deadline - Date.now()) / 1000));
}

function fwTick() {
  const w = fw.waiting;
  if (!w) return;
  const left = fwLeftS(w);
  const who = w.by ? `${w.by} changed the firewall (version ${w.version}). ` : '';
  $('fw-countdown').textContent = `${who}Keeping this change in ${left} s unless confirmed…${w.confirming ? ' Confirming…' : ''}`;
  if (left === 0 && !w.ended) {
    w.ended = true;
    fwExpired(w);
  }
}

function fwStopWaiting() {
  const w = fw.waiting;
  if (w) clearInterval(w.timer);
  fw.waiting = null;
  $('fw-pending').hidden = true;
  $('fw-countdown').textContent = '';
  fwApplyEnabled();
}

function fwApplyEnabled() {
  const busy = fw.applying || Boolean(fw.waiting && fw.waiting.confirming);
  $('fw-form').querySelector('button[type="submit"]').disabled = busy;
  $('fw-keep').disabled = Boolean(fw.waiting && fw.waiting.confirming);
}

// Follows change `version` until `deadlineMs` (the browser's clock):
// confirmed at once when `auto` (the page just applied it), or when the
// admin asks (`Keep this change`).
function fwWait(version, deadlineMs, { auto = false, by = null } = {}) {
  fwStopWaiting();
  const w = { version, deadline: deadlineMs, auto, by, confirming: false, ended: false, timer: null };
  fw.waiting = w;
  $('fw-pending').hidden = false;
  $('fw-keep').hidden = auto;
  w.timer = setInterval(fwTick, 250);
  fwTick();
  if (auto) fwConfirm(w);
  return w;
}

// The deadline on the browser's clock: the box's, unless the two clocks
// disagree by more than the window itself.
function fwDeadline(confirmByMs, sentAt) {
  const span = ((fw.view && fw.view.confirm_seconds) || 60) * 1000;
  const left = confirmByMs - Date.now();
  if (left > 0 && left <= span) return Date.now() + left;
  return Math.max(Date.now(), (sentAt || Date.now()) + span);
}

// Confirms, over a new connection (the box closed the ones opened before
// the change), again every second on a network error or a 409, until it
// is kept or the window is over.
async function fwConfirm(w) {
  w.confirming = true;
  fwApplyEnabled();
  fwTick();
  while (fw.waiting === w && Date.now() < w.deadline) {
    try {
      await api('POST', '/api/v1/firewall/confirm');
      if (fw.waiting === w) await fwKept(w);
      return;
    } catch (e) {
      if (fw.waiting !== w || e.status === 401) return;
      if (e.status === 409) {
        // Nothing to confirm: kept elsewhere, taken back or changed
        // again. Otherwise (an old connection) try again.
        const view = await api('GET', '/api/v1/firewall').catch(() => null);
        if (fw.waiting !== w) return;
        if (view && (!view.pending || view.pending.version !== w.version)) {
          fwSettle(w, view);
          return;
        }
      } else if (e.status !== 0 && e.status !== 429 && e.status < 500) {
        w.confirming = false;
        fwApplyEnabled();
        fwTick();
        say('fw-message', e.message, 'error');
        return;
      }
    }
    await sleep(FW_CONFIRM_EVERY_MS);
  }
  if (fw.waiting === w && !w.ended) {
    w.ended = true;
    fwExpired(w);
  }
}

async function fwKept(w) {
  fwStopWaiting();
  say('fw-message', 'Change kept.', 'ok');
  fw.done.add(w.version);
  await fwLoad().catch(() => {});
}

// The window is over: the box has put the previous policy back by now
// (or is about to); the form shows what is in force.
async function fwExpired(w) {
  for (let tries = 0; tries < 10 && fw.waiting === w; tries++) {
    const view = await api('GET', '/api/v1/firewall').catch(() => null);
    if (fw.waiting !== w) return;
    if (view && (!view.pending || view.pending.version !== w.version)) {
      fwSettle(w, view);
      return;
    }
    await sleep(FW_CONFIRM_EVERY_MS);
  }
  if (fw.waiting === w) {
    fwStopWaiting();
    say('fw-message', "The confirmation window is over, but the box has not said what it kept. Reload the page to see what is in force.", 'error');
  }
}

// What became of change `w`, from the policy the box now has.
function fwSettle(w, view) {
  fw.done.add(w.version);
  fwStopWaiting();
  fwShow(view);
  if (view.pending) {
    say('fw-message', `Version ${w.version} was replaced by another change, which awaits confirmation.`, 'info');
  } else if (view.version === w.version) {
    say('fw-message', 'Change kept.', 'ok');
  } else {
    say('fw-message', `Version ${w.version} was not confirmed in time: the previous policy came back. The form shows the policy in force.`, 'error');
  }
}

$('fw-keep').addEventListener('click', () => {
  const w = fw.waiting;
  if (w && !w.confirming) fwConfirm(w);
});

// --- Reading and applying ---

function fwShow(view) {
  fw.view = view;
  $('fw-https-port').textContent = String(view.https_port);
  $('fw-window').textContent = seconds(view.confirm_seconds);
  $('fw-managed').textContent = view.managed
    ? "hearth manages this box's firewall: everything not allowed here is dropped."
    : `Not managed here: ${view.not_managed || 'hearth leaves this machine\'s firewall alone'}. Changes are stored, not applied.`;
  $('fw-no-confirm-row').hidden = !view.managed;
  $('fw-confirm-hint').hidden = !view.managed;
  if (!view.managed && !fw.report) $('fw-state').textContent = 'No counters: hearth does not apply the rules here.';
  fwFill(view.policy);
  fwPending(view.pending ? {
    version: view.pending.version, confirm_by_ms: view.pending.confirm_by_ms, by: view.pending.by,
  } : null);
  fwRenderCounters();
}

async function fwLoad() {
  fwShow(await api('GET', '/api/v1/firewall'));
}

// A change awaiting confirmation that this page did not make (another
// tab, or this page before a reload): shown with a Keep button.
function fwPending(pending) {
  if (fw.applying) return;
  const w = fw.waiting;
  if (pending) {
    if (w && w.version === pending.version) return;
    // A report from before the box said what became of it (a stream
    // that reconnects replays what it missed).
    if (fw.done.has(pending.version)) return;
    if (fw.view && !fw.view.pending && pending.version <= fw.view.version) return;
    fwWait(pending.version, fwDeadline(pending.confirm_by_ms), { by: pending.by || null });
  } else if (w && !w.auto && !w.confirming) {
    // Kept or taken back elsewhere: ask the box which.
    api('GET', '/api/v1/firewall')
      .then((view) => { if (fw.waiting === w && !view.pending) fwSettle(w, view); })
      .catch(() => {});
  }
}

$('fw-add-allow').addEventListener('click', () => {
  const tr = fwRuleRow('allow', { protocol: 'tcp' });
  $('fw-allow').appendChild(tr);
  fwRenumber();
  tr.querySelector('.fw-ports').focus();
});

$('fw-add-forward').addEventListener('click', () => {
  const tr = fwRuleRow('forwards', { protocol: 'tcp' });
  $('fw-forwards').appendChild(tr);
  fwRenumber();
  tr.querySelector('.fw-port').focus();
});

$('fw-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (fw.applying || (fw.waiting && fw.waiting.confirming)) return;
  clearErrors($('fw-form'));
  const dropShown = !$('fw-drop-row').hidden;
  const body = {
    policy: fwPolicy(),
    confirm: !$('fw-no-confirm').checked,
    drop_my_access: dropShown && $('fw-drop').checked,
  };
  fw.applying = true;
  fwApplyEnabled();
  say('fw-message', 'Applying…');
  const sentAt = Date.now();
  try {
    const r = await api('PUT', '/api/v1/firewall', body);
    fw.applying = false;
    $('fw-drop').checked = false;
    $('fw-drop-row').hidden = true;
    if (r.confirm_by_ms) {
      say('fw-message', `Version ${r.version} is in force. Confirming that this page still reaches the box…`);
      fwWait(r.version, fwDeadline(r.confirm_by_ms, sentAt), { auto: true });
    } else {
      say('fw-message', r.applied
        ? `Version ${r.version} is in force.`
        : `Version ${r.version} is stored; hearth does not manage the firewall here, so it was not applied.`, 'ok');
      await fwLoad().catch(() => {});
    }
  } catch (e) {
    fwShowError(e);
  } finally {
    fw.applying = false;
    fwApplyEnabled();
  }
});

// --- The manager's reports: state, last apply, counters ---

// A rule's name in the kernel (`allow 0`) in the page's words.
function fwRuleName(rule, chain, split) {
  const policy = fw.view && fw.report && fw.report.status && fw.view.version === fw.report.status.version
    ? fw.view.policy : null;
  let m = /^allow (\d+)$/.exec(rule);
  if (m) {
    const a = policy && policy.allow[Number(m[1])];
    return `Open port ${Number(m[1]) + 1}${a ? ` (${a.protocol} ${a.ports})` : ''}`;
  }
  m = /^forward (\d+)$/.exec(rule);
  if (m) {
    const f = policy && policy.forwards[Number(m[1])];
    return `Port forward ${Number(m[1]) + 1}${f ? ` (${f.protocol} ${f.port} to ${f.to}:${f.to_port})` : ''}`;
  }
  const named = {
    https: `This page${fw.view ? ` (port ${fw.view.https_port})` : ''}`,
    web: 'Web ports (80 and 443)',
  }[rule];
  const text = named || rule.charAt(0).toUpperCase() + rule.slice(1);
  if (!split) return text;
  return `${text} (${{ input: 'to the box', forward: 'through the box' }[chain] || chain})`;
}

// Counters summed by rule name (a rule with IPv4 and IPv6 sources is two
// kernel rules with one name); but a name in both the input and the
// forward chain (`dropped` to the box, and through it) is a row for each.
const FW_HOOKS = ['input', 'forward'];

function fwRenderCounters() {
  const status = fw.report && fw.report.status;
  const body = $('fw-counters');
  if (!status) { body.replaceChildren(); return; }
  const hooks = new Map();
  for (const c of status.counters || []) {
    if (!hooks.has(c.rule)) hooks.set(c.rule, new Set());
    if (FW_HOOKS.includes(c.chain)) hooks.get(c.rule).add(c.chain);
  }
  const sums = new Map();
  for (const c of status.counters || []) {
    const split = hooks.get(c.rule).size > 1 && FW_HOOKS.includes(c.chain);
    const key = split ? `${c.rule}\u0000${c.chain}` : c.rule;
    if (!sums.has(key)) sums.set(key, { name: fwRuleName(c.rule, c.chain, split), rule: c.rule, packets: 0, bytes: 0 });
    const s = sums.get(key);
    s.packets += c.packets;
    s.bytes += c.bytes;
  }
  body.replaceChildren(...Array.from(sums.values(), (s) => {
    const tr = row([s.name, s.packets.toLocaleString(), fwBytes(s.bytes)]);
    tr.dataset.rule = s.rule;
    return tr;
  }));
}

const FW_REASONS = { start: 'hearth started', 'policy changed': 'the policy changed' };

function fwRenderReport(r) {
  fw.report = r;
  const state = $('fw-state');
  state.className = `state-${r.state === 'ok' ? 'ok' : r.state === 'degraded' ? 'degraded' : 'disabled'}`;
  if (r.state === 'ok') {
    state.textContent = r.status ? `Version ${r.status.version} in force${r.status.pending ? ', awaiting confirmation' : ''}.` : r.detail;
  } else if (r.state === 'degraded') {
    const retry = r.retry_in_ms ? ` Trying again in ${seconds(Math.ceil(r.retry_in_ms / 1000))}.` : '';
    state.textContent = `Degraded: ${r.detail}.${retry}`.replace(/\.\./g, '.');
  } else {
    state.textContent = `Not active: ${r.detail}`;
  }
  $('fw-cause').hidden = !r.cause;
  $('fw-cause').textContent = r.cause ? `Cause: ${r.cause}` : '';
  const last = r.status && r.status.last_apply;
  $('fw-last').hidden = !last;
  if (last) {
    $('fw-last-version').textContent = String(last.version);
    $('fw-last-at').textContent = `${when(last.at_ms)} (${ago(last.at_ms)})`;
    $('fw-last-reason').textContent = FW_REASONS[last.reason] || last.reason;
  }
  fwRenderCounters();
  if (r.status) fwPending(r.status.pending || null);
}

// --- The audit log ---------------------------------------------------

// What an action means, in words; `t` is its target.
const ACTIONS = {
  'console.password_reset': (t) => `reset the password of ${t} (and its two-factor login)`,
  'console.two_factor_off': (t) => `turned off two-factor login of ${t}`,
  'console.firewall_reset': () => 'reset the firewall to the boot policy',
  'console.certificate': () => 'made a new TLS certificate',
  'console.log': () => "showed hearth's log",
  'console.restart': () => 'restarted hearth',
  'console.reboot': () => 'rebooted the box',
  'console.power_off': () => 'powered the box off',
  'console.factory_reset': () => 'reset the box to factory state',
  'console.shell': () => 'opened a root shell',
  'daemon.start': () => 'started',
  'daemon.stop': () => 'stopped',
  'firewall.change': (t) => (t === 'awaiting confirmation'
    ? 'changed the firewall (awaiting confirmation)'
    : 'changed the firewall without confirmation'),
  'firewall.confirm': (t) => `kept the firewall change${t ? ` (${t})` : ''}`,
  'firewall.rollback': (t) => `put the previous firewall rules back${t ? ` (${t})` : ''}`,
  'firewall.repair': (t) => `put its firewall rules back${t ? ` (${t})` : ''}`,
  'session.login': () => 'signed in',
  'session.logout': () => 'signed out',
  'session.revoke': () => 'ended one of their sessions',
  'settings.public_status': (t) => `set the public status page ${t === 'true' ? 'on' : t === 'false' ? 'off' : t}`,
  'settings.audit_retention': (t) => `set how long the log keeps attempts (${t.replace('keep_days=', 'days: ').replace(' max_mib=', ', MiB: ')})`,
  'settings.console_shell': (t) => `set the root shell on the box's console ${t === 'true' ? 'on' : t === 'false' ? 'off' : t}`,
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
  // Refused attempts from one address are counted in one record.
  if (r.count > 1) what.append(' ', el('span', `${r.count} times, until ${new Date(r.last_ms).toLocaleTimeString()}`));
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
    // A record counting attempts comes again with each one: updated in place.
    const shown = $('audit').querySelector(`tr[data-id="${r.id}"]`);
    if (shown) shown.replaceWith(auditRow(r));
    else $('audit').prepend(auditRow(r));
  });
}

$('audit-more').addEventListener('click', () => loadAudit(false).catch((e) => say('message', e.message, 'error')));
$('audit-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadAudit(true).catch((e) => say('message', e.message, 'error'));
});

pageFor('admin', ['admin'])
  .then(async (signedIn) => {
    if (!signedIn) return;
    me = signedIn;
    $('admin').hidden = false;
    const settings = await api('GET', '/api/v1/settings');
    $('public-status').checked = settings.public_status;
    $('console-shell').checked = settings.console_shell;
    const firewall = fwLoad().catch((e) => say('fw-message', e.message, 'error'));
    await Promise.all([loadUsers(), loadAudit(true), firewall]);
    followAudit();
    followTopic('firewall', fwRenderReport);
  })
  .catch((e) => { $('admin').hidden = false; say('message', e.message, 'error'); });
