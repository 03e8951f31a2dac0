// hearth status page: render /api/v1/status at once, then follow the
// event stream. No inline script (the CSP forbids it); text goes in
// through textContent only, never as HTML.
'use strict';

const SPARK_POINTS = 300; // five minutes at the default 1 s interval
// Each sparkline is a list of [t_ms, value], oldest first.
const sparks = { cpu: [], mem: [], net: [] };
let lastSampleTs = 0;

const $ = (id) => document.getElementById(id);

function text(id, value) {
  const el = $(id);
  if (el) el.textContent = value;
}

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

function duration(s) {
  if (s === undefined || s === null) return '—';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

function el(tag, className, content) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (content !== undefined) e.textContent = content;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = el(i === 0 ? 'th' : 'td', null, c);
    if (i === 0) td.scope = 'row';
    tr.appendChild(td);
  });
  return tr;
}

function fill(id, rows, emptyId) {
  const body = $(id);
  body.replaceChildren(...rows);
  if (emptyId) $(emptyId).hidden = rows.length > 0;
}

function barItem(label, fraction, value) {
  const li = el('li');
  li.appendChild(el('span', 'label', label));
  const bar = el('div', 'bar');
  const fillSpan = el('span');
  // Set through the CSSOM, which the CSP allows (a style attribute it would not).
  fillSpan.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  bar.appendChild(fillSpan);
  li.appendChild(bar);
  li.appendChild(el('span', 'value', value));
  return li;
}

function pushSpark(name, t, value) {
  const s = sparks[name];
  s.push([t, value === undefined || value === null ? null : value]);
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

function sum(list, key) {
  let total = null;
  for (const item of list) {
    if (item[key] !== undefined && item[key] !== null) total = (total || 0) + item[key];
  }
  return total;
}

function renderSystem(s) {
  // The same sample can arrive twice (status, then the stream's
  // snapshot, or again after a reconnect): draw it, but chart it once.
  const fresh = s.ts_ms > lastSampleTs;
  if (fresh) lastSampleTs = s.ts_ms;
  const spark = (name, value) => { if (fresh) pushSpark(name, s.ts_ms, value); };
  text('hostname', s.hostname || 'hearth');
  document.title = `${s.hostname || 'hearth'} — status`;
  text('os', s.os || '—');
  text('kernel', s.kernel || '—');
  text('uptime', duration(s.uptime_s));
  text('load', s.load ? s.load.map((l) => l.toFixed(2)).join(' ') : '—');

  const cpu = s.cpu || {};
  text('cpu-total', pct(cpu.total_pct));
  text('cpu-iowait', pct(cpu.iowait_pct));
  text('cpu-steal', pct(cpu.steal_pct));
  fill('cores', (cpu.cores || []).map((c) =>
    barItem(`cpu${c.id}`, (c.busy_pct || 0) / 100, pct(c.busy_pct))));
  spark('cpu', cpu.total_pct);
  drawSpark('cpu', 100);

  const m = s.memory;
  if (m) {
    text('mem-used', bytes(m.used_bytes));
    text('mem-total', bytes(m.total_bytes));
    text('mem-avail', bytes(m.available_bytes));
    text('mem-cached', bytes(m.cached_bytes));
    text('swap', m.swap_total_bytes ? `${bytes(m.swap_used_bytes)} / ${bytes(m.swap_total_bytes)}` : 'none');
    $('mem-bar').style.width = `${(m.used_bytes / Math.max(1, m.total_bytes)) * 100}%`;
    spark('mem', m.used_bytes);
    drawSpark('mem', m.total_bytes);
  }

  const ifaces = (s.net || []).filter((n) => n.iface !== 'lo');
  const rx = sum(ifaces, 'rx_bps');
  const tx = sum(ifaces, 'tx_bps');
  text('net-rx', bits(rx));
  text('net-tx', bits(tx));
  spark('net', rx === null && tx === null ? null : (rx || 0) + (tx || 0));
  drawSpark('net');
  fill('ifaces', ifaces.map((n) => row([
    n.iface,
    n.link ? (n.speed_mbps ? `${n.link} ${n.speed_mbps} Mbit/s` : n.link) : '—',
    bits(n.rx_bps),
    bits(n.tx_bps),
  ])));

  fill('filesystems', (s.filesystems || []).map((f) => barItem(
    f.mount,
    f.used_bytes / Math.max(1, f.size_bytes),
    `${bytes(f.avail_bytes)} free`)));
  fill('disks', (s.disks || []).map((d) => row([
    d.name, rate(d.read_bps), rate(d.write_bps), pct(d.busy_pct),
  ])));

  fill('temps', (s.temperatures || []).map((t) =>
    row([t.label, `${t.celsius.toFixed(1)} °C`])), 'temps-none');

  const power = s.power || { rapl: [], supplies: [] };
  const powerRows = power.rapl.map((z) =>
    row([z.zone, z.watts === undefined ? '—' : `${z.watts.toFixed(1)} W`]));
  for (const p of power.supplies) {
    const parts = [];
    if (p.capacity_pct !== undefined) parts.push(`${p.capacity_pct} %`);
    if (p.status) parts.push(p.status);
    if (p.online !== undefined) parts.push(p.online ? 'online' : 'offline');
    if (p.watts !== undefined) parts.push(`${p.watts.toFixed(1)} W`);
    powerRows.push(row([p.kind ? `${p.name} (${p.kind})` : p.name, parts.join(', ') || '—']));
  }
  fill('power', powerRows, 'power-none');

  const procs = s.processes;
  if (procs) {
    text('proc-total', String(procs.total));
    text('proc-running', String(procs.running));
    fill('top-cpu', procs.top_cpu.map((p) => row([`${p.name} (${p.pid})`, pct(p.cpu_pct)])));
    fill('top-mem', procs.top_memory.map((p) => row([`${p.name} (${p.pid})`, bytes(p.rss_bytes)])));
  }
}

function renderHealth(h) {
  fill('health', Object.entries(h).map(([name, c]) => {
    const tr = row([name, c.state]);
    tr.lastChild.className = `state-${c.state}`;
    tr.title = c.detail || '';
    return tr;
  }));
}

function renderState(state) {
  if (state.system) renderSystem(state.system);
  if (state.health) renderHealth(state.health);
}

function setLive(state, label) {
  const live = $('live');
  live.dataset.state = state;
  live.textContent = label;
}

async function history(series) {
  const r = await fetch(`/api/v1/metrics/history?series=${series}&range=1h`);
  if (!r.ok) throw new Error(`history ${r.status}`);
  return (await r.json()).points;
}

// Puts the last minutes in front of what the live samples drew so far.
function merge(name, points) {
  const live = sparks[name];
  const firstLive = live.length ? live[0][0] : Infinity;
  const older = points.filter((p) => p[0] < firstLive);
  sparks[name] = older.concat(live).slice(-SPARK_POINTS);
}

async function prefill() {
  try {
    const [cpu, mem, rx, tx] = await Promise.all(
      ['cpu.total_pct', 'memory.used_bytes', 'net.rx_bps', 'net.tx_bps'].map(history));
    merge('cpu', cpu);
    merge('mem', mem);
    const txAt = new Map(tx.map((p) => [p[0], p[1]]));
    merge('net', rx.map(([t, v]) => {
      const out = txAt.get(t);
      return [t, v === null && (out === undefined || out === null) ? null : (v || 0) + (out || 0)];
    }));
    drawSpark('cpu', 100);
    drawSpark('net');
  } catch (e) { /* the live stream fills the sparklines anyway */ }
}

let retryMs = 2000;
let openedBefore = false;

function connect() {
  const events = new EventSource('/api/v1/events?topics=system,health');
  events.addEventListener('open', () => {
    retryMs = 2000;
    setLive('live', 'Live');
    // A stream ends when its access changes, and the reconnect may be as
    // someone else (a visitor, another role): say who, again.
    if (openedBefore) account();
    openedBefore = true;
  });
  events.addEventListener('error', () => {
    setLive('reconnecting', 'Reconnecting…');
    // The browser retries by itself unless the server refused the stream
    // (an error status such as 429): then it gives up, and so we retry.
    if (events.readyState === EventSource.CLOSED) {
      // Refused because the session ended (signed out, revoked, expired)
      // and the status is not public: sign in again.
      fetch('/api/v1/status').then((r) => {
        if (r.status === 401) location.assign('/login?next=/');
      }).catch(() => {});
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    }
  });
  events.addEventListener('snapshot', (e) => renderState(JSON.parse(e.data)));
  events.addEventListener('system', (e) => renderSystem(JSON.parse(e.data)));
  events.addEventListener('health', (e) => renderHealth(JSON.parse(e.data)));
}

async function account() {
  try {
    const r = await fetch('/api/v1/session');
    if (r.ok) {
      const me = await r.json();
      text('whoami', `${me.username} (${me.role})`);
      $('signout').hidden = false;
      $('signin').hidden = true;
    } else if (r.status === 401) {
      // A visitor on a public status page.
      text('whoami', '');
      $('signout').hidden = true;
      $('signin').hidden = false;
    }
  } catch (e) { /* the status still shows */ }
}

$('signout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE' }).catch(() => {});
  location.assign('/login');
});

async function start() {
  account();
  // Render at once; the sparklines' history and the stream follow.
  try {
    const r = await fetch('/api/v1/status');
    if (r.status === 401) {
      // Not signed in, and the status is not public.
      location.assign('/login?next=/');
      return;
    }
    if (r.status === 403) {
      const body = await r.json().catch(() => ({}));
      if (body.error && body.error.code === 'setup_required') {
        // Nothing to show until the box has an owner: say where to go.
        $('setup-notice').hidden = false;
        setLive('reconnecting', 'Not set up');
        return;
      }
    }
    if (r.ok) renderState(await r.json());
  } catch (e) { /* the stream's snapshot renders it */ }
  const backfill = prefill();
  connect();
  await backfill;
}

start();
