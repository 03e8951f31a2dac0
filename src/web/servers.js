// Servers: a member's Docker hosts on the box (an admin's view: all of
// them), live from the servers topic: each one's phase, limits, what it
// uses (CPU, memory, processes) and the containers in it; start, stop,
// restart and delete; a new one; and the certificates that let `docker`
// on the member's computer reach them.
'use strict';

const sv = {
  me: null,
  servers: null,
  report: null,
  certs: null,
  stream: null,
  // The open logs: server id -> { source, lines } (the newest 200).
  logs: new Map(),
};

const LOG_LINES = 200;

// Opens or closes a server's log: its unit's journal, live.
function toggleLog(s) {
  const open = sv.logs.get(s.id);
  if (open) {
    open.source.close();
    sv.logs.delete(s.id);
    render();
    return;
  }
  const source = new EventSource(`/api/v1/servers/${s.id}/logs`);
  const entry = { source, lines: [] };
  sv.logs.set(s.id, entry);
  source.addEventListener('log', (ev) => {
    const l = JSON.parse(ev.data);
    entry.lines.push(`${new Date(l.at_ms).toLocaleTimeString()}  ${l.message}`);
    if (entry.lines.length > LOG_LINES) entry.lines.shift();
    const pre = document.querySelector(`#servers li[data-id="${s.id}"] pre.log`);
    if (pre) pre.textContent = entry.lines.join('\n');
  });
  render();
}

const isAdmin = () => sv.me && sv.me.role === 'admin';

const PHASE_WORDS = {
  preparing: 'Preparing its storage',
  starting: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  failed: 'Failed',
  unresponsive: 'Not answering',
  deleting: 'Being deleted',
};

// The manager's report of server `id`, if any.
function reported(id) {
  const list = sv.report && sv.report.status && sv.report.status.servers;
  return (list || []).find((s) => s.id === id) || null;
}

// The command that makes a docker context of the saved files for `s`.
function field(name, text) {
  const e = el('span', text);
  e.dataset.field = name;
  return e;
}

function renderServer(s) {
  const li = el('li', null, 'domain');
  li.dataset.id = s.id;
  const r = reported(s.id);
  const phase = r ? r.phase : (s.deleting ? 'deleting' : null);
  li.appendChild(el('h3', isAdmin() ? `${s.name} (${s.owner})` : s.name));
  const state = el('p');
  const pill = field('phase', phase ? PHASE_WORDS[phase] || phase : 'Waiting for the box…');
  const trouble = phase === 'failed' || phase === 'unresponsive';
  pill.className = `pill ${phase === 'running' ? 'on' : trouble ? 'failure' : ''}`;
  state.appendChild(pill);
  if (r && r.crashes) state.appendChild(el('span', ` — crashed ${r.crashes} times in a row`));
  // Why it is in trouble: its engine's last words, as the journal has them.
  const why = [];
  if (r && r.last_log && r.last_log.length) {
    why.push(el('p', 'Its engine\'s last lines:', 'hint'));
    const lines = el('pre', r.last_log.map((l) => l.message).join('\n'), 'log');
    lines.dataset.field = 'last_log';
    why.push(lines);
  }
  if (r && r.progress) {
    const p = r.progress;
    state.appendChild(el('span', ' — '));
    state.appendChild(field('progress', `step ${p.stage} of ${p.stages}: ${p.doing}`));
  }
  li.appendChild(state);
  why.forEach((e) => li.appendChild(e));
  const l = s.limits;
  li.appendChild(el('p', `${l.memory_mib} MiB memory, ${l.disk_mib} MiB disk, ${l.cpu_millis / 1000} CPU, ${l.pids} processes`, 'hint'));
  const u = r && r.usage;
  if (u) {
    const cpu = u.cpu_millis === undefined ? '…' : `${(u.cpu_millis / 1000).toFixed(2)} of ${l.cpu_millis / 1000}`;
    const mib = Math.round(u.memory_bytes / 1048576);
    const p = el('p');
    p.appendChild(el('span', 'In use: '));
    p.appendChild(field('usage', `${cpu} CPU, ${mib} of ${l.memory_mib} MiB memory, ${u.tasks} of ${l.pids} processes`));
    li.appendChild(p);
  }
  const engine = r && r.engine;
  if (engine && engine.answering) {
    const names = engine.containers.map((c) => `${c.name} (${c.state})`);
    const p = el('p');
    p.appendChild(el('span', 'Containers: '));
    p.appendChild(field('containers', names.length ? names.join(', ') : 'none'));
    li.appendChild(p);
  }
  if (s.engine_port) {
    li.appendChild(el('p', 'With your certificate\'s files, in their folder:', 'hint'));
    const pre = el('pre', contextCommand(s));
    pre.dataset.field = 'command';
    li.appendChild(pre);
  }
  const log = el('pre', null, 'log');
  log.dataset.field = 'log';
  log.hidden = !sv.logs.has(s.id);
  if (sv.logs.has(s.id)) log.textContent = sv.logs.get(s.id).lines.join('\n');
  li.appendChild(log);
  if (!s.deleting) {
    const buttons = el('div', null, 'buttons');
    const shown = sv.logs.has(s.id);
    buttons.append(labelled(button(shown ? 'Hide log' : 'Show log', () => toggleLog(s), 'secondary'), `${shown ? 'Hide' : 'Show'} log of ${s.name}`));
    const act = (verb, label) => labelled(button(label, () => power(s, verb), 'secondary'), `${label} ${s.name}`);
    if (s.desired === 'running') buttons.append(act('stop', 'Stop'), act('restart', 'Restart'));
    else buttons.append(act('start', 'Start'));
    buttons.append(labelled(button('Delete', () => remove(s), 'danger'), `Delete ${s.name}`));
    li.appendChild(buttons);
  }
  return li;
}

function render() {
  if (sv.servers === null) return;
  const list = $('servers');
  list.replaceChildren(...sv.servers.map(renderServer));
  $('servers-none').hidden = sv.servers.length > 0;
  const certs = $('certs');
  certs.replaceChildren(...(sv.certs || []).map(renderCert));
  $('certs-none').hidden = (sv.certs || []).length > 0;
}

function renderCert(c) {
  const li = el('li', null, 'domain');
  li.dataset.id = c.id;
  li.appendChild(el('h3', c.id));
  li.appendChild(el('p', `${isAdmin() ? `${c.owner}, ` : ''}made ${when(c.created_ms)}${c.revoked_ms ? `, revoked ${when(c.revoked_ms)}` : ''}`, 'hint'));
  if (!c.revoked_ms) {
    const b = labelled(button('Revoke', () => revoke(c), 'danger'), `Revoke certificate ${c.id}`);
    li.appendChild(b);
  }
  return li;
}

async function readLists() {
  const [servers, certs] = await Promise.all([
    api('GET', '/api/v1/servers'),
    api('GET', '/api/v1/server-certificates'),
  ]);
  sv.servers = servers.servers;
  sv.certs = certs.certificates;
  render();
}

async function power(s, verb) {
  try {
    await api('POST', `/api/v1/servers/${s.id}/${verb}`);
    say('message', `${s.name}: ${verb} asked; its state follows below.`, 'ok');
    await readLists();
  } catch (e) {
    say('message', e.message, 'error');
  }
}

async function remove(s) {
  const ok = await confirmAction({
    title: `Delete ${s.name}?`,
    text: 'Its engine stops, and its containers, images and volumes are erased with its storage. This cannot be undone.',
    confirm: 'Delete and erase',
  });
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/servers/${s.id}?erase=true`);
    say('message', `${s.name} is being deleted.`, 'ok');
    await readLists();
  } catch (e) {
    say('message', e.message, 'error');
  }
}

async function revoke(c) {
  const ok = await confirmAction({
    title: `Revoke certificate ${c.id}?`,
    text: 'docker on the computers that have it can no longer reach your servers.',
    confirm: 'Revoke',
  });
  if (!ok) return;
  try {
    await api('DELETE', `/api/v1/server-certificates/${c.id}`);
    say('message', `Certificate ${c.id} was revoked.`, 'ok');
    await readLists();
  } catch (e) {
    say('message', e.message, 'error');
  }
}

// A link that saves `text` as `name`.
$('c-issue').addEventListener('click', async () => {
  try {
    const c = await api('POST', '/api/v1/server-certificates');
    const files = $('issued-files');
    files.replaceChildren(...[['ca.pem', c.ca], ['cert.pem', c.certificate], ['key.pem', c.key]]
      .map(([name, text]) => { const li = el('li'); li.appendChild(download(name, text)); return li; }));
    const first = (sv.servers || []).find((s) => s.engine_port);
    $('issued-command').textContent = first ? contextCommand(first) : 'Make a server first: its command shows here.';
    $('issued').hidden = false;
    await readLists();
  } catch (e) {
    say('message', e.message, 'error');
  }
});

// A refusal at the field it names.
const FIELDS = { name: 's-name', 'limits.memory_mib': 's-memory', 'limits.disk_mib': 's-disk' };

$('server-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = $('server-form');
  clearErrors(form);
  say('message', '');
  const name = $('s-name').value.trim();
  if (!name) {
    fieldError($('s-name'), 'Enter a name, such as web.');
    return;
  }
  if (!/^[a-z0-9-]{1,25}$/.test(name)) {
    fieldError($('s-name'), 'Use 1 to 25 of a–z, 0–9 and -, such as web or build-box.');
    return;
  }
  const body = { name, limits: {} };
  for (const [id, key] of [['s-memory', 'memory_mib'], ['s-disk', 'disk_mib']]) {
    const v = $(id).value.trim();
    if (!v) continue;
    if (!/^\d+$/.test(v)) {
      fieldError($(id), 'Enter a number of MiB.');
      return;
    }
    body.limits[key] = Number(v);
  }
  $('s-submit').disabled = true;
  try {
    const s = await api('POST', '/api/v1/servers', body);
    form.reset();
    say('message', `${s.name} was created; it starts within a few seconds.`, 'ok');
    await readLists();
  } catch (e) {
    const input = e.field && FIELDS[e.field] && $(FIELDS[e.field]);
    if (e.status === 400 && input) fieldError(input, e.message);
    else say($('form-message'), e.message, 'error');
  } finally {
    $('s-submit').disabled = false;
  }
});

// Follows the servers topic; a refused or dropped stream starts again.
function follow() {
  const events = new EventSource('/api/v1/events?topics=servers');
  sv.stream = events;
  events.addEventListener('servers', (ev) => {
    sv.report = JSON.parse(ev.data);
    const state = $('servers-state');
    const ok = sv.report.state === 'ok';
    state.textContent = ok ? 'The box runs the servers as shown.' : `The box cannot bring every server to its state: ${sv.report.cause || sv.report.detail || 'see its log'}.`;
    state.className = `state-line ${ok ? 'state-ok' : 'state-failure'}`;
    // A server gone from the report (deleted) or new: read the list again.
    const ids = (sv.report.status && sv.report.status.servers || []).map((s) => s.id).sort().join();
    const known = (sv.servers || []).map((s) => s.id).sort().join();
    if (ids !== known) readLists().catch(() => {});
    else render();
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED && sv.stream === events) {
      setTimeout(() => { if (sv.stream === events) follow(); }, 5000);
    }
  });
}

addEventListener('pagehide', () => {
  if (sv.stream) sv.stream.close();
  for (const l of sv.logs.values()) l.source.close();
});
addEventListener('pageshow', (ev) => { if (ev.persisted && sv.stream) follow(); });

pageFor('servers', ['admin', 'member'])
  .then(async (me) => {
    if (!me) return;
    sv.me = me;
    $('servers-page').hidden = false;
    if (isAdmin()) $('h-servers').textContent = 'All servers';
    await readLists();
    follow();
  })
  .catch((e) => { $('servers-page').hidden = false; say('message', e.message, 'error'); });
