// hearth status page: the box at a glance, live. It renders
// /api/v1/status at once, then follows the event stream; the history
// charts (history.js) come from /api/v1/metrics/history. Plain script on top of
// shell.js under the strict CSP: no inline script or style, text only
// through textContent.
'use strict';

const SPARK_POINTS = 300; // five minutes at the default 1 s interval
// A filesystem fuller than this (as df counts, see usedPct) is a problem.
const FULL_DISK_PCT = 90;

// What the page knows: the box and who looks (from the shell), the newest
// sample and the health of hearth's components (when the viewer gets it).
const view = {
  box: null,
  me: null,
  sample: null,
  // Browser time when the newest sample arrived: how old the figures are.
  receivedAt: 0,
  // The box's clock minus the browser's, so "local time" is the box's.
  clockOffset: 0,
  health: null,
  showVirtual: false,
};
// Each sparkline is a list of [t_ms, value], oldest first.
const sparks = { cpu: [], mem: [], net: [] };

function text(id, value) {
  $(id).textContent = value;
}

// --- Numbers in words ----------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
function bytes(n) {
  if (n === undefined || n === null) return '—';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${UNITS[i]}`;
}

// Network throughput: bytes per second shown as bits per second (disks
// use bytes, see rate()).
function bits(bps) {
  if (bps === undefined || bps === null) return '—';
  let v = bps * 8;
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function rate(bps) {
  return bps === undefined || bps === null ? '—' : `${bytes(bps)}/s`;
}

function pct(v) {
  return v === undefined || v === null ? '—' : `${v.toFixed(1)} %`;
}

function celsius(v) {
  return v === undefined || v === null ? '—' : `${v.toFixed(1)} °C`;
}

function duration(s) {
  if (s === undefined || s === null) return '—';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function loadText(load) {
  if (!load) return '—';
  return ['1 min', '5 min', '15 min'].map((l, i) => `${l} ${load[i].toFixed(2)}`).join(' · ');
}

// Times on the page are the box's local time, in its time zone.
let formats = null;
function fmt() {
  if (!formats) {
    const tz = view.box && view.box.timezone;
    const make = (options) => {
      try {
        return new Intl.DateTimeFormat(undefined, { ...options, timeZone: tz || undefined });
      } catch (e) {
        // A zone this browser does not know: its own zone beats nothing.
        return new Intl.DateTimeFormat(undefined, options);
      }
    };
    const hm = { hour: 'numeric', minute: '2-digit' };
    formats = {
      clock: make({ weekday: 'short', day: 'numeric', month: 'short', ...hm, second: '2-digit' }),
      seconds: make({ ...hm, second: '2-digit' }),
      minutes: make(hm),
      days: make({ weekday: 'short', ...hm }),
      full: make({ weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', ...hm, second: '2-digit' }),
    };
  }
  return formats;
}

// --- The live figures ----------------------------------------------------

function fill(id, rows) {
  $(id).replaceChildren(...rows);
  return rows.length;
}

function barItem(label, fraction, value) {
  const li = el('li');
  const bar = el('div', null, 'bar');
  const filled = el('span');
  // Set through the CSSOM, which the CSP allows (a style attribute it would not).
  filled.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  bar.appendChild(filled);
  li.append(el('span', label, 'label'), bar, el('span', value, 'value'));
  return li;
}

// Used space as df shows it: of what is used plus what an unprivileged
// user may still fill. The blocks only root may use (ext4 keeps 5 %) are
// in neither, so a disk is full for hearth at 100 % with them still free.
// Rounded up, as df does, so that "100 %" means full.
function usedPct(f) {
  const whole = f.used_bytes + f.avail_bytes;
  return whole ? Math.ceil((f.used_bytes * 100) / whole) : null;
}

function storageItem(f) {
  const whole = f.used_bytes + f.avail_bytes;
  const used = usedPct(f);
  return barItem(f.mount, whole ? f.used_bytes / whole : 0,
    `${bytes(f.avail_bytes)} free of ${bytes(whole)} (${used === null ? '—' : used} % used)`);
}

// The box marks the interfaces that carry traffic a real one carries
// too, or none that leaves it (containers', VMs', lo: see
// src/host/interfaces.rs): hidden by default and left out of the totals.
function splitIfaces(list) {
  const real = [];
  const virtual = [];
  for (const n of list) (n.virtual ? virtual : real).push(n);
  return { real, virtual };
}

function sum(list, key) {
  let total = null;
  for (const item of list) {
    if (item[key] !== undefined && item[key] !== null) total = (total || 0) + item[key];
  }
  return total;
}

function addNullable(a, b) {
  const none = (v) => v === undefined || v === null;
  return none(a) && none(b) ? null : (a || 0) + (b || 0);
}

function ifaceRow(n) {
  return row([
    n.iface,
    n.link ? (n.speed_mbps ? `${n.link} ${n.speed_mbps} Mbit/s` : n.link) : '—',
    bits(n.rx_bps),
    bits(n.tx_bps),
  ]);
}

function renderNet(s, fresh) {
  const { real, virtual } = splitIfaces(s.net || []);
  // Only the real interfaces count: the hidden ones would count the
  // same packets again.
  const rx = sum(real, 'rx_bps');
  const tx = sum(real, 'tx_bps');
  text('net-rx', bits(rx));
  text('net-tx', bits(tx));
  if (fresh) pushSpark('net', s.ts_ms, addNullable(rx, tx));
  fill('ifaces', (view.showVirtual ? real.concat(virtual) : real).map(ifaceRow));
  const toggle = $('show-virtual');
  toggle.hidden = virtual.length === 0;
  toggle.textContent = `${view.showVirtual ? 'Hide' : 'Show'} virtual interfaces (${virtual.length})`;
  toggle.setAttribute('aria-expanded', String(view.showVirtual));
}

function renderCpu(s, fresh) {
  const cpu = s.cpu || {};
  text('cpu-total', pct(cpu.total_pct));
  text('cpu-iowait', pct(cpu.iowait_pct));
  text('cpu-steal', pct(cpu.steal_pct));
  text('load', loadText(s.load));
  fill('cores', (cpu.cores || []).map((c) =>
    barItem(`cpu${c.id}`, (c.busy_pct || 0) / 100, pct(c.busy_pct))));
  if (fresh) pushSpark('cpu', s.ts_ms, cpu.total_pct);
}

function renderMemory(s, fresh) {
  const m = s.memory;
  if (!m) return;
  text('mem-used', bytes(m.used_bytes));
  text('mem-total', bytes(m.total_bytes));
  text('mem-avail', bytes(m.available_bytes));
  text('mem-cached', bytes(m.cached_bytes));
  text('swap', m.swap_total_bytes ? `${bytes(m.swap_used_bytes)} / ${bytes(m.swap_total_bytes)}` : 'none');
  $('mem-bar').style.width = `${(m.used_bytes / Math.max(1, m.total_bytes)) * 100}%`;
  if (fresh) pushSpark('mem', s.ts_ms, m.used_bytes);
}

function renderStorage(s) {
  fill('filesystems', (s.filesystems || []).map(storageItem));
  fill('disks', (s.disks || []).map((d) => row([
    d.name, rate(d.read_bps), rate(d.write_bps), pct(d.busy_pct),
  ])));
}

function powerRows(power) {
  const rows = power.rapl.map((z) =>
    row([z.zone, z.watts === undefined ? '—' : `${z.watts.toFixed(1)} W`]));
  for (const p of power.supplies) {
    const parts = [];
    if (p.capacity_pct !== undefined) parts.push(`${p.capacity_pct} %`);
    if (p.status) parts.push(p.status);
    if (p.online !== undefined) parts.push(p.online ? 'online' : 'offline');
    if (p.watts !== undefined) parts.push(`${p.watts.toFixed(1)} W`);
    rows.push(row([p.kind ? `${p.name} (${p.kind})` : p.name, parts.join(', ') || '—']));
  }
  return rows;
}

// A machine without sensors gets one line, not two empty cards.
function renderSensors(s) {
  const temps = fill('temps', (s.temperatures || []).map((t) => row([t.label, celsius(t.celsius)])));
  const power = fill('power', powerRows(s.power || { rapl: [], supplies: [] }));
  $('card-temps').hidden = temps === 0;
  $('card-power').hidden = power === 0;
  $('no-sensors').hidden = temps + power > 0;
}

// The name, with the PID as a tooltip for the mouse and as text for
// screen readers (a title alone is not read reliably).
function processName(p) {
  const name = el('span', p.name);
  name.title = `PID ${p.pid}`;
  name.appendChild(el('span', ` (PID ${p.pid})`, 'visually-hidden'));
  return name;
}

// Visitors do not get the processes: the card goes.
function renderProcesses(s) {
  const procs = s.processes;
  $('card-procs').hidden = !procs;
  if (!procs) return;
  text('proc-total', String(procs.total));
  text('proc-running', String(procs.running));
  fill('top-cpu', procs.top_cpu.map((p) => row([processName(p), pct(p.cpu_pct)])));
  fill('top-mem', procs.top_memory.map((p) => row([processName(p), bytes(p.rss_bytes)])));
}

function renderSystem(s) {
  // The same sample can arrive twice (status, then the stream's
  // snapshot, or again after a reconnect): draw it, but chart it once.
  const fresh = !view.sample || s.ts_ms > view.sample.ts_ms;
  if (fresh) {
    view.receivedAt = Date.now();
    $('sample-time').dateTime = new Date(s.ts_ms).toISOString();
  }
  view.sample = s;
  text('os', s.os || '—');
  text('kernel', s.kernel || '—');
  text('uptime', duration(s.uptime_s));
  renderCpu(s, fresh);
  renderMemory(s, fresh);
  renderNet(s, fresh);
  renderStorage(s);
  renderSensors(s);
  renderProcesses(s);
  drawSparks();
  renderVerdict();
  if (fresh) advanceHistory(s);
}

function renderHealth(h) {
  view.health = h;
  renderVerdict();
}

function renderState(state) {
  if (state.system) renderSystem(state.system);
  if (state.health) renderHealth(state.health);
  if (state.services) renderServices(state.services);
}

// --- Services ------------------------------------------------------------

const VERBS = [
  { verb: 'start', label: 'Start', busy: 'Starting', done: 'Started' },
  { verb: 'stop', label: 'Stop', busy: 'Stopping', done: 'Stopped' },
  { verb: 'restart', label: 'Restart', busy: 'Restarting', done: 'Restarted' },
];

// What the card knows: whether hearth manages the services here (from
// /api/v1/services; null until it answers), the units as the stream
// last told them, one row per unit kept from one report to the next (so
// that a focused button stays focused), and the job each unit waits for.
const services = {
  managed: null,
  units: null,
  rows: new Map(),
  busy: new Map(),
  // Whether the rows were drawn with an admin's buttons.
  admin: false,
};

function isAdmin() {
  return Boolean(view.me && view.me.role === 'admin');
}

// "3 min ago", by the box's clock.
function timeAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() + view.clockOffset - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// ok (active), bad (failed), muted (not on this box), neutral otherwise.
function unitLevel(u) {
  if (u.load === 'not-found') return 'muted';
  if (u.active === 'active') return 'ok';
  if (u.active === 'failed') return 'bad';
  return 'neutral';
}

function unitStateText(u) {
  if (u.load === 'not-found') return 'not found';
  return u.sub && u.sub !== u.active ? `${u.active} (${u.sub})` : u.active;
}

// `u.controllable`: the unit is on the box's allow-list (what the polkit
// rules grant); the box refuses the others anyway.
function newServiceRow(u) {
  const unit = u.unit;
  const state = el('span', null, 'svc-state');
  const exit = el('span', null, 'svc-exit');
  const stateCell = el('span');
  stateCell.append(state, exit);
  // Relative, with the time itself in a title and, for screen readers,
  // in hidden text.
  const since = el('time');
  const rel = el('span');
  const abs = el('span', null, 'visually-hidden');
  since.append(rel, abs);
  let buttons = null;
  if (services.admin && u.controllable) {
    buttons = VERBS.map((v) => button(v.label, () => act(unit, v)));
  }
  let actions;
  if (services.admin) {
    // In a box of their own that wraps: on a phone they stack.
    actions = el('div', null, 'svc-buttons');
    actions.append(...(buttons || []));
  }
  const tr = row([unit, stateCell, since], actions);
  tr.dataset.unit = unit;
  const r = { tr, state, exit, since, rel, abs, buttons, notFound: false, sinceMs: 0 };
  services.rows.set(unit, r);
  return r;
}

function drawSince(r) {
  if (!r.sinceMs) {
    r.since.removeAttribute('datetime');
    r.since.removeAttribute('title');
    r.rel.textContent = '—';
    r.abs.textContent = '';
    return;
  }
  const full = fmt().full.format(r.sinceMs);
  r.since.dateTime = new Date(r.sinceMs).toISOString();
  r.since.title = full;
  r.rel.textContent = timeAgo(r.sinceMs);
  r.abs.textContent = ` (${full})`;
}

// The relative times move on (once a second, from tick()).
function refreshSince() {
  for (const r of services.rows.values()) {
    if (r.sinceMs) r.rel.textContent = timeAgo(r.sinceMs);
  }
}

// A unit's buttons: busy while its job runs, none for a unit this box
// does not have.
function drawButtons(unit) {
  const r = services.rows.get(unit);
  if (!r || !r.buttons) return;
  const running = services.busy.get(unit);
  r.buttons.forEach((b, i) => {
    const v = VERBS[i];
    const busy = running === v.verb;
    b.disabled = Boolean(running);
    b.hidden = r.notFound;
    b.textContent = busy ? `${v.busy}…` : v.label;
    labelled(b, busy ? `${v.busy} ${unit}…` : `${v.label} ${unit}`);
  });
  r.tr.setAttribute('aria-busy', String(Boolean(running)));
}

function updateServiceRow(u) {
  const r = services.rows.get(u.unit) || newServiceRow(u);
  r.state.dataset.level = unitLevel(u);
  r.state.textContent = unitStateText(u);
  const failedExit = u.exit_status !== undefined && u.exit_status !== null && u.exit_status !== 0;
  r.exit.textContent = failedExit ? ` · exit status ${u.exit_status}` : '';
  r.sinceMs = u.since_ms || 0;
  drawSince(r);
  r.notFound = u.load === 'not-found';
  drawButtons(u.unit);
  return r.tr;
}

function drawServices() {
  const card = $('card-services');
  // Visitors do not get the services: the card goes.
  card.hidden = !view.me;
  if (!view.me) return;
  const admin = isAdmin();
  if (admin !== services.admin) {
    // Who looks changed: the rows again, with or without buttons.
    services.admin = admin;
    services.rows.clear();
    $('services').replaceChildren();
  }
  $('services-actions').hidden = !admin;
  const unmanaged = services.managed === false;
  const units = unmanaged ? [] : services.units || [];
  const note = $('services-note');
  if (unmanaged) note.textContent = "hearth does not manage this machine's services here.";
  else if (services.units === null) note.textContent = 'Waiting for the services…';
  else note.textContent = 'No services are followed yet.';
  note.hidden = units.length > 0;
  $('services-table').hidden = units.length === 0;
  const rows = units.map(updateServiceRow);
  const shown = new Set(units.map((u) => u.unit));
  for (const unit of [...services.rows.keys()]) {
    if (!shown.has(unit)) services.rows.delete(unit);
  }
  // Moved only when the list changed: a row taken out and put back
  // would lose the focus of its button.
  const body = $('services');
  const same = body.children.length === rows.length && rows.every((tr, i) => body.children[i] === tr);
  if (!same) body.replaceChildren(...rows);
}

// A report on the services topic; one without units (a notice) leaves
// the rows as they are.
function renderServices(report) {
  if (!Array.isArray(report.units)) return;
  services.units = report.units;
  drawServices();
}

// Whether hearth manages the services here, and the units until the
// stream has told them.
async function loadServices() {
  if (!view.me) return;
  try {
    const listed = await api('GET', '/api/v1/services', undefined, { signIn: false });
    services.managed = listed.managed;
    if (services.units === null && Array.isArray(listed.units)) services.units = listed.units;
  } catch (e) {
    // The stream still tells the units.
  }
  drawServices();
}

// Asks the box to start, stop or restart `unit`. The answer comes once
// systemd's job ended; the state itself comes from the stream.
async function act(unit, v) {
  if (services.busy.has(unit)) return;
  const r = services.rows.get(unit);
  const clicked = r && r.buttons ? r.buttons[VERBS.indexOf(v)] : null;
  const hadFocus = clicked !== null && document.activeElement === clicked;
  services.busy.set(unit, v.verb);
  drawButtons(unit);
  say('services-message', '');
  let outcome;
  try {
    await api('POST', `/api/v1/services/${unit}/${v.verb}`);
    outcome = [`${v.done} ${unit}.`, 'ok'];
  } catch (e) {
    outcome = [e.message, 'error'];
  } finally {
    services.busy.delete(unit);
    drawButtons(unit);
  }
  // The button was disabled meanwhile, which takes the focus away from it.
  const focus = document.activeElement;
  if (hadFocus && clicked.isConnected && (!focus || focus === document.body)) clicked.focus();
  say('services-message', outcome[0], outcome[1]);
}

// --- The strip at the top ------------------------------------------------

// What is wrong, in words: full filesystems, and hearth's components that
// are degraded or down (only for viewers who get the health topic).
function problems() {
  const out = [];
  for (const f of view.sample.filesystems || []) {
    const used = usedPct(f);
    if (used !== null && used > FULL_DISK_PCT) out.push(`${f.mount} is ${used} % full`);
  }
  for (const [name, c] of Object.entries(view.health || {})) {
    if (c.state === 'degraded' || c.state === 'down') {
      out.push(`${name} is ${c.state}${c.detail ? ` (${c.detail})` : ''}`);
    }
  }
  return out;
}

function renderVerdict() {
  if (!view.sample) return;
  const list = problems();
  const verdict = $('verdict');
  verdict.dataset.level = list.length ? 'bad' : 'ok';
  verdict.textContent = list.length ? `Needs attention: ${list.join('; ')}.` : 'All well.';
}

// The box's own URLs: its domain (through Caddy on 443) and each address
// on hearth's port. Only signed-in viewers are told the addresses.
function boxUrls(box) {
  const urls = [];
  if (box.domain) urls.push(`https://${box.domain}/`);
  const port = box.port ? `:${box.port}` : '';
  for (const a of box.addresses || []) {
    urls.push(`https://${a.includes(':') ? `[${a}]` : a}${port}/`);
  }
  return urls;
}

function renderBox() {
  const box = view.box || {};
  formats = null;
  text('title', box.name ? `Status of ${box.name}` : 'Status');
  $('fact-version').hidden = !box.version;
  text('version', box.version || '');
  $('fact-time').hidden = !box.timezone;
  text('timezone', box.timezone || '');
  const urls = boxUrls(box);
  $('fact-addresses').hidden = urls.length === 0;
  $('addresses').replaceChildren(...urls.map((u) => {
    const a = el('a', u);
    a.href = u;
    const li = el('li');
    li.appendChild(a);
    return li;
  }));
  tick();
}

// Once a second: the box's clock, and how old the figures are while the
// stream is down.
function tick() {
  const now = Date.now();
  if (view.box && view.box.timezone) text('clock', fmt().clock.format(now + view.clockOffset));
  refreshSince();
  const stale = $('main').classList.contains('stale') && view.sample !== null;
  $('as-of').hidden = !stale;
  if (!stale) return;
  text('sample-time', fmt().seconds.format(view.sample.ts_ms));
  text('sample-age', age(now - view.receivedAt));
}

const LIVE_LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  'not-set-up': 'Not set up',
};

// Out of date figures stay, greyed out, with their age beside them.
function setLive(state) {
  const live = $('live');
  live.dataset.state = state;
  live.textContent = LIVE_LABELS[state];
  $('main').classList.toggle('stale', state === 'reconnecting');
  tick();
}

// --- Sparklines ----------------------------------------------------------

function pushSpark(name, t, value) {
  const s = sparks[name];
  s.push([t, value === undefined ? null : value]);
  while (s.length > SPARK_POINTS) s.shift();
}

function drawSpark(name, max) {
  const values = sparks[name].map((p) => p[1]);
  const line = $(`spark-${name}`).querySelector('polyline');
  const top = max || Math.max(1, ...values.filter((v) => v !== null));
  const step = 120 / Math.max(1, SPARK_POINTS - 1);
  const offset = SPARK_POINTS - values.length;
  const points = [];
  values.forEach((v, i) => {
    if (v === null) return;
    const x = (offset + i) * step;
    const y = 29 - (Math.min(v, top) / top) * 28;
    points.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  line.setAttribute('points', points.join(' '));
}

// All three at once, wherever their data came from, so that none is
// left behind (the memory line once stayed empty after the prefill).
function drawSparks() {
  const memory = view.sample && view.sample.memory;
  drawSpark('cpu', 100);
  drawSpark('mem', memory ? memory.total_bytes : undefined);
  drawSpark('net');
}

// Puts the last minutes in front of what the live samples drew so far.
function merge(name, points) {
  const live = sparks[name];
  const firstLive = live.length ? live[0][0] : Infinity;
  const older = points.filter((p) => p[0] < firstLive);
  sparks[name] = older.concat(live).slice(-SPARK_POINTS);
}

// The sparklines start with the last minutes of the hour's history (whose
// network total, too, leaves the virtual interfaces out).
function prefill(history) {
  const points = (name) => (history.get(name) || { points: [] }).points;
  merge('cpu', points('cpu.total_pct'));
  merge('mem', points('memory.used_bytes'));
  const tx = new Map(points('net.tx_bps'));
  merge('net', points('net.rx_bps').map(([t, v]) => [t, addNullable(v, tx.get(t))]));
  drawSparks();
}

// --- The stream ----------------------------------------------------------

let stream = null;
let retryMs = 2000;
let openedBefore = false;

// What this viewer may follow, and no more: visitors get `system` only.
// (Asking a visitor's stream for health once had it refused, and the
// public page stood still.) Nothing needs health to stay live.
function topics() {
  return view.me ? 'system,health,services' : 'system';
}

async function showShell() {
  const { box, me } = await shell({ page: 'status' });
  view.box = box;
  view.me = me;
  if (!me) view.health = null;
  renderBox();
  renderVerdict();
  drawServices();
  // Not waited for: the figures need not wait for the services.
  loadServices();
}

// A stream ends when its access changes, and the browser comes back as
// whoever it now is: say who in the header, and follow what they may.
async function reviewAccess() {
  const asked = topics();
  await showShell();
  if (topics() !== asked && stream.readyState !== EventSource.CLOSED) {
    stream.close();
    follow();
  }
}

// The server refused the stream (an error status: signed out, not
// allowed, too many streams): the browser gives up, so we try again.
async function refused() {
  try {
    // A 401 here sends the page to sign in (api() does that).
    await api('GET', '/api/v1/status');
    await showShell();
  } catch (e) {
    if (e.status === 401) return;
  }
  setTimeout(follow, retryMs);
  retryMs = Math.min(retryMs * 2, 30000);
}

function follow() {
  const events = new EventSource(`/api/v1/events?topics=${topics()}`);
  stream = events;
  events.addEventListener('open', () => {
    retryMs = 2000;
    setLive('live');
    if (openedBefore) reviewAccess();
    openedBefore = true;
  });
  events.addEventListener('error', () => {
    setLive('reconnecting');
    if (events.readyState === EventSource.CLOSED) refused();
  });
  events.addEventListener('snapshot', (e) => renderState(JSON.parse(e.data)));
  events.addEventListener('system', (e) => {
    const s = JSON.parse(e.data);
    // Only a sample just taken tells the box's clock (status and the
    // snapshot may hand over one from a second ago).
    view.clockOffset = s.ts_ms - Date.now();
    renderSystem(s);
  });
  events.addEventListener('health', (e) => renderHealth(JSON.parse(e.data)));
  events.addEventListener('services', (e) => renderServices(JSON.parse(e.data)));
}

// A page kept in the back/forward cache keeps its stream open, and with
// it one of the streams its address may have, for up to a minute: it
// lets go when it is left, and follows again when it comes back.
function keepOnlyWhileShown() {
  addEventListener('pagehide', () => { if (stream) stream.close(); });
  addEventListener('pageshow', (ev) => {
    if (!ev.persisted || !stream) return;
    setLive('reconnecting');
    follow();
  });
}

function notSetUp() {
  $('setup-notice').hidden = false;
  setLive('not-set-up');
}

async function start() {
  setInterval(tick, 1000);
  $('show-virtual').addEventListener('click', () => {
    view.showVirtual = !view.showVirtual;
    if (view.sample) renderNet(view.sample, false);
  });
  setupHistory();
  // Render at once; the history and the stream follow.
  const [, status] = await Promise.all([
    showShell(),
    api('GET', '/api/v1/status').catch((e) => e),
  ]);
  if ((view.box && !view.box.setup_complete) || status.code === 'setup_required') {
    // Nothing to show until the box has an owner: say where to go.
    notSetUp();
    return;
  }
  // Not signed in, and the status is not public: api() is on its way to
  // the sign-in page.
  if (status.status === 401) return;
  if (!(status instanceof ApiFailure)) renderState(status);
  keepOnlyWhileShown();
  follow();
  showHistory('1h');
}

// history.js (loaded after this file, for its charts use the formats
// here) must be in place before the page starts: deferred scripts have
// all run by DOMContentLoaded.
addEventListener('DOMContentLoaded', start);
