// The status page's history charts: CPU, memory, network, disks and the
// hottest sensor over 1 h, 24 h or 7 d from /api/v1/metrics/history, as
// SVG with a scale, time labels and the value under the pointer (or the
// arrow keys). Loaded after status.js, whose formats and view it uses.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const CHART_H = 170;
const PAD = { top: 10, right: 12, bottom: 24, left: 76 };
const RANGES = {
  '1h': { ms: 3600e3, words: 'hour', ticks: 'minutes', cursor: 'seconds' },
  '24h': { ms: 86400e3, words: '24 hours', ticks: 'minutes', cursor: 'minutes' },
  '7d': { ms: 7 * 86400e3, words: '7 days', ticks: 'days', cursor: 'days' },
};
// How often the 24 h and 7 d ranges are fetched again while the stream
// is live: they gain a point a minute.
const HISTORY_REFRESH_MS = 60e3;

// A series' `of` takes its value from a live sample exactly as
// src/metrics/history.rs does, so that the hour's charts move on with
// the stream.
const realIfaces = (s) => (s.net || []).filter((n) => !n.virtual);
const hottest = (s) => (s.temperatures || []).reduce((m, t) => (m === null ? t.celsius : Math.max(m, t.celsius)), null);
const CHARTS = [
  { id: 'cpu', title: 'CPU', scale: 'pct', format: pct, tick: (v) => `${Math.round(v)} %`,
    series: [{ name: 'cpu.total_pct', label: 'busy', of: (s) => s.cpu && s.cpu.total_pct }] },
  { id: 'mem', title: 'Memory used', scale: 'memory', format: bytes,
    series: [{ name: 'memory.used_bytes', label: 'used', of: (s) => s.memory && s.memory.used_bytes }] },
  { id: 'net', title: 'Network', scale: 'bits', format: bits,
    series: [{ name: 'net.rx_bps', label: 'in', of: (s) => sum(realIfaces(s), 'rx_bps') },
      { name: 'net.tx_bps', label: 'out', of: (s) => sum(realIfaces(s), 'tx_bps') }] },
  { id: 'disk', title: 'Disk I/O', scale: 'bytes', format: rate,
    series: [{ name: 'disk.read_bps', label: 'read', of: (s) => sum(s.disks || [], 'read_bps') },
      { name: 'disk.write_bps', label: 'write', of: (s) => sum(s.disks || [], 'write_bps') }] },
  { id: 'temp', title: 'Hottest sensor', scale: 'plain', format: celsius, hideEmpty: true,
    series: [{ name: 'temperature.max_celsius', label: 'max', of: hottest }] },
];

const charts = [];
let historyRange = '1h';
let historyAt = 0;
let historyToken = 0;
let prefilled = false;

function svgEl(tag, attrs, content) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (content !== undefined) e.textContent = content;
  return e;
}

// Rounds a scale's top up to 1, 2, 2.5 or 5 times a power of ten within
// the unit (`base` 1024 for bytes, whose labels go KiB, MiB, ...).
function niceCeil(v, base) {
  if (!(v > 0)) return 1;
  let unit = 1;
  while (v / unit >= base) unit *= base;
  let x = v / unit;
  let decade = 1;
  while (x > 10) { x /= 10; decade *= 10; }
  while (x <= 1) { x *= 10; decade /= 10; }
  const step = [1, 2, 2.5, 5, 10].find((s) => s >= x);
  return step * decade * unit;
}

function highest(chart) {
  let top = 0;
  for (const points of chart.data) {
    for (const p of points) if (p[3] !== null && p[3] > top) top = p[3];
  }
  return top;
}

function scaleMax(chart) {
  const top = highest(chart);
  switch (chart.def.scale) {
    case 'pct': return 100;
    case 'memory': {
      const m = view.sample && view.sample.memory;
      return m ? m.total_bytes : niceCeil(top, 1024);
    }
    case 'bits': return niceCeil(top * 8, 1000) / 8;
    case 'bytes': return niceCeil(top, 1024);
    default: return niceCeil(top, 1000);
  }
}

// A reply's points as [t, value, low, high]: the hour has one value per
// sample, the longer ranges the average, lowest and highest of a minute.
function normalize(reply) {
  if (!reply) return [];
  return reply.points.map((p) => (p.length === 2 ? [p[0], p[1], p[1], p[1]] : [p[0], p[2], p[1], p[3]]));
}

// At most one point per `buckets` slice of time: a week of minutes is
// more points than the chart has pixels.
function thin(points, buckets, from, to) {
  if (points.length <= buckets * 2) return points;
  const span = (to - from) / buckets;
  const out = [];
  let key = null;
  let acc = null;
  const flush = () => {
    if (acc) out.push(acc.n ? [acc.t, acc.sum / acc.n, acc.lo, acc.hi] : [acc.t, null, null, null]);
  };
  for (const [t, v, lo, hi] of points) {
    const k = Math.floor((t - from) / span);
    if (k !== key) {
      flush();
      key = k;
      acc = { t, sum: 0, n: 0, lo: Infinity, hi: -Infinity };
    }
    if (v !== null) {
      acc.sum += v;
      acc.n += 1;
      acc.lo = Math.min(acc.lo, lo);
      acc.hi = Math.max(acc.hi, hi);
    }
  }
  flush();
  return out;
}

// Runs of points with values, split at nulls and at gaps (the daemon
// was down): a line across a gap would invent the figures in it.
function runs(points, gapMs) {
  const out = [];
  let run = [];
  let prev = null;
  for (const p of points) {
    if (p[1] === null || (prev !== null && p[0] - prev > gapMs)) {
      if (run.length) out.push(run);
      run = [];
    }
    if (p[1] !== null) run.push(p);
    prev = p[1] === null ? null : p[0];
  }
  if (run.length) out.push(run);
  return out;
}

function coords(run, g, k) {
  return run.map((p) => `${g.x(p[0]).toFixed(1)},${g.y(p[k]).toFixed(1)}`);
}

function linePath(parts, g) {
  return parts.map((run) => `M${coords(run, g, 1).join('L')}`).join('');
}

// The band between each minute's lowest and highest value.
function bandPath(parts, g) {
  return parts.map((run) =>
    `M${coords(run, g, 3).join('L')}L${coords(run.slice().reverse(), g, 2).join('L')}Z`).join('');
}

function geometry(chart) {
  const w = Math.max(240, Math.round(chart.box.clientWidth || 0));
  const to = Date.now() + view.clockOffset;
  const from = to - RANGES[chart.range].ms;
  const max = scaleMax(chart);
  const plotW = w - PAD.left - PAD.right;
  const plotH = CHART_H - PAD.top - PAD.bottom;
  return {
    w, from, to, max, plotW,
    x: (t) => PAD.left + ((t - from) / (to - from)) * plotW,
    y: (v) => PAD.top + (1 - Math.min(Math.max(v, 0), max) / max) * plotH,
    t: (x) => from + ((x - PAD.left) / plotW) * (to - from),
  };
}

function drawAxes(chart, g) {
  const tick = chart.def.tick || chart.def.format;
  const axes = svgEl('g', { class: 'axes' });
  for (const [v, label] of [[g.max, tick(g.max)], [g.max / 2, tick(g.max / 2)], [0, null]]) {
    const y = g.y(v).toFixed(1);
    axes.appendChild(svgEl('line', { x1: PAD.left, x2: g.w - PAD.right, y1: y, y2: y }));
    if (label) axes.appendChild(svgEl('text', { x: PAD.left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, label));
  }
  // Fewer time labels on a phone, where five would run into each other.
  const n = g.w < 420 ? 3 : 5;
  const format = fmt()[RANGES[chart.range].ticks];
  for (let i = 0; i < n; i++) {
    const t = g.from + ((g.to - g.from) * i) / (n - 1);
    const anchor = i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    axes.appendChild(svgEl('text', { x: g.x(t).toFixed(1), y: CHART_H - 6, 'text-anchor': anchor }, format.format(t)));
  }
  return axes;
}

function hasValues(chart) {
  return chart.data.some((points) => points.some((p) => p[1] !== null));
}

function drawChart(chart) {
  const g = geometry(chart);
  chart.geo = g;
  chart.svg.setAttribute('viewBox', `0 0 ${g.w} ${CHART_H}`);
  const parts = [drawAxes(chart, g)];
  const gap = Math.max(3 * chart.stepMs, (2.5 * (g.to - g.from)) / g.plotW);
  chart.data.forEach((points, k) => {
    const pieces = runs(thin(points, Math.round(g.plotW), g.from, g.to), gap);
    if (chart.range !== '1h') parts.push(svgEl('path', { class: `band s${k}`, d: bandPath(pieces, g) }));
    parts.push(svgEl('path', { class: `line s${k}`, d: linePath(pieces, g) }));
  });
  if (!hasValues(chart)) {
    parts.push(svgEl('text', { class: 'empty', x: PAD.left + g.plotW / 2, y: CHART_H / 2, 'text-anchor': 'middle' }, 'No data yet'));
  }
  chart.cursorLine = svgEl('line', { class: 'cursor', y1: PAD.top, y2: CHART_H - PAD.bottom, visibility: 'hidden' });
  parts.push(chart.cursorLine);
  chart.svg.replaceChildren(...parts);
  chart.svg.setAttribute('aria-label', summary(chart));
  chart.fig.hidden = Boolean(chart.def.hideEmpty) && !hasValues(chart);
  if (chart.cursor !== null) showCursor(chart, chart.cursor);
}

// The text alternative: lowest, average and highest of each line.
function summary(chart) {
  const parts = chart.def.series.map((s, k) => {
    const values = chart.data[k].filter((p) => p[1] !== null);
    if (!values.length) return null;
    const lo = values.reduce((m, p) => Math.min(m, p[2]), Infinity);
    const hi = values.reduce((m, p) => Math.max(m, p[3]), -Infinity);
    const avg = values.reduce((a, p) => a + p[1], 0) / values.length;
    const f = chart.def.format;
    const name = chart.def.series.length > 1 ? `${s.label}: ` : '';
    return `${name}lowest ${f(lo)}, average ${f(avg)}, highest ${f(hi)}`;
  }).filter(Boolean);
  return `${chart.def.title}, last ${RANGES[chart.range].words}: ${parts.length ? parts.join('; ') : 'no data yet'}.`;
}

// The index of the point nearest to time `t` (points sorted by time).
function nearest(points, t) {
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < t) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && t - points[lo - 1][0] < points[lo][0] - t) lo -= 1;
  return lo;
}

// The line whose points the cursor steps through (the series of one
// chart share their sample times).
function timeline(chart) {
  return chart.data.find((points) => points.length) || [];
}

function valueText(chart, p) {
  const f = chart.def.format;
  if (!p || p[1] === null) return '—';
  return chart.range === '1h' || p[2] === p[3] ? f(p[1]) : `${f(p[1])} (${f(p[2])} to ${f(p[3])})`;
}

function showCursor(chart, index) {
  const points = timeline(chart);
  if (!points.length) return;
  const i = Math.max(0, Math.min(points.length - 1, index));
  chart.cursor = i;
  const t = points[i][0];
  const x = chart.geo.x(t);
  chart.cursorLine.setAttribute('x1', x.toFixed(1));
  chart.cursorLine.setAttribute('x2', x.toFixed(1));
  chart.cursorLine.setAttribute('visibility', 'visible');
  const values = chart.def.series.map((s, k) => {
    const line = chart.data[k];
    const p = line.length ? line[nearest(line, t)] : null;
    return chart.def.series.length > 1 ? `${s.label} ${valueText(chart, p)}` : valueText(chart, p);
  });
  const readout = chart.readout;
  readout.textContent = `${fmt()[RANGES[chart.range].cursor].format(t)} · ${values.join(' · ')}`;
  readout.hidden = false;
  // The label follows the line; past the middle it hangs to its left.
  readout.style.left = `${(x / chart.geo.w) * 100}%`;
  readout.classList.toggle('left', x > chart.geo.w / 2);
}

function hideCursor(chart) {
  chart.cursor = null;
  chart.readout.hidden = true;
  if (chart.cursorLine) chart.cursorLine.setAttribute('visibility', 'hidden');
}

function onPointer(chart, ev) {
  const points = timeline(chart);
  if (!points.length || !chart.geo) return;
  const rect = chart.svg.getBoundingClientRect();
  const x = ((ev.clientX - rect.left) / rect.width) * chart.geo.w;
  showCursor(chart, nearest(points, chart.geo.t(x)));
}

const KEY_STEPS = {
  ArrowLeft: (i) => i - 1,
  ArrowRight: (i) => i + 1,
  PageUp: (i, n) => i - Math.ceil(n / 10),
  PageDown: (i, n) => i + Math.ceil(n / 10),
  Home: () => 0,
  End: (i, n) => n - 1,
};

function onKey(chart, ev) {
  const step = KEY_STEPS[ev.key];
  const n = timeline(chart).length;
  if (!step || !n) return;
  ev.preventDefault();
  showCursor(chart, step(chart.cursor === null ? n - 1 : chart.cursor, n));
}

function makeChart(def) {
  const fig = el('figure', null, 'chart');
  fig.id = `chart-${def.id}`;
  const caption = el('figcaption');
  caption.appendChild(el('span', def.title, 'chart-title'));
  if (def.series.length > 1) {
    for (const [k, s] of def.series.entries()) {
      const key = el('span', s.label, 'key');
      key.prepend(el('span', null, `swatch s${k}`));
      caption.appendChild(key);
    }
  }
  const box = el('div', null, 'chart-box');
  const svg = svgEl('svg', { role: 'img', tabindex: '0', 'aria-label': `${def.title}: loading` });
  const readout = el('p', null, 'readout');
  readout.hidden = true;
  readout.setAttribute('aria-live', 'polite');
  box.append(svg, readout);
  fig.append(caption, box);
  const chart = { def, fig, box, svg, readout, data: def.series.map(() => []), range: historyRange, stepMs: 1000, cursor: null, geo: null, cursorLine: null };
  svg.addEventListener('pointermove', (ev) => onPointer(chart, ev));
  svg.addEventListener('pointerleave', () => { if (document.activeElement !== svg) hideCursor(chart); });
  svg.addEventListener('keydown', (ev) => onKey(chart, ev));
  svg.addEventListener('focus', () => showCursor(chart, chart.cursor === null ? timeline(chart).length - 1 : chart.cursor));
  svg.addEventListener('blur', () => hideCursor(chart));
  // Drawn in the chart's own pixels, so the labels keep their size.
  let width = 0;
  new ResizeObserver(() => {
    if (box.clientWidth !== width) { width = box.clientWidth; drawChart(chart); }
  }).observe(box);
  return chart;
}

async function loadHistory(range) {
  const names = CHARTS.flatMap((c) => c.series.map((s) => s.name));
  const replies = await Promise.all(names.map((name) =>
    api('GET', `/api/v1/metrics/history?series=${encodeURIComponent(name)}&range=${range}`, undefined, { signIn: false })
      .then((r) => [name, r], () => [name, null])));
  return new Map(replies);
}

async function showHistory(range) {
  const token = ++historyToken;
  historyRange = range;
  historyAt = Date.now();
  const history = await loadHistory(range);
  // A later switch wins over a slower earlier reply.
  if (token !== historyToken) return;
  for (const chart of charts) {
    updateChart(chart, () => {
      chart.range = range;
      chart.data = chart.def.series.map((s) => normalize(history.get(s.name)));
      const first = history.get(chart.def.series[0].name);
      chart.stepMs = first ? first.step_s * 1000 : 1000;
    });
  }
  if (range === '1h' && !prefilled) {
    prefilled = true;
    prefill(history);
  }
}

// Changes a chart's data and draws it; someone reading a value keeps
// reading at the same time.
function updateChart(chart, change) {
  const at = chart.cursor === null ? null : timeline(chart)[chart.cursor][0];
  change();
  const points = timeline(chart);
  chart.cursor = at === null || !points.length ? null : nearest(points, at);
  drawChart(chart);
}

function appendSample(chart, s) {
  const from = s.ts_ms - RANGES['1h'].ms;
  chart.def.series.forEach((series, k) => {
    const points = chart.data[k];
    // The history may already hold it.
    if (points.length && points[points.length - 1][0] >= s.ts_ms) return;
    const v = series.of(s);
    const value = v === undefined ? null : v;
    points.push([s.ts_ms, value, value, value]);
    while (points[0][0] < from) points.shift();
  });
}

// Called on each new sample, so the history moves on while the page is
// live, and not at all while it is not: the hour, at sampling
// resolution, takes the sample itself; the longer ranges are fetched
// again once a minute.
function advanceHistory(s) {
  if (historyRange !== '1h') {
    if (Date.now() - historyAt > HISTORY_REFRESH_MS) showHistory(historyRange);
    return;
  }
  for (const chart of charts) {
    // Not into a longer range's minutes, while the hour is on its way.
    if (chart.range === '1h') updateChart(chart, () => appendSample(chart, s));
  }
}

function setupHistory() {
  for (const def of CHARTS) {
    const chart = makeChart(def);
    charts.push(chart);
    $('charts').appendChild(chart.fig);
  }
  for (const b of $('ranges').querySelectorAll('button')) {
    b.addEventListener('click', () => {
      for (const other of $('ranges').querySelectorAll('button')) {
        other.setAttribute('aria-pressed', String(other === b));
      }
      showHistory(b.dataset.range);
    });
  }
}
