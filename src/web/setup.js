// The setup wizard: each step is one call of the setup API; the server
// says which step comes next. No inline script (the CSP forbids it).
'use strict';

const $ = (id) => document.getElementById(id);
const STEPS = ['claim', 'admin', 'host', 'domain', 'summary', 'done'];
let showSummary = false;

function show(step) {
  for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
  const n = STEPS.indexOf(step) + 1;
  $('progress').textContent = step === 'done' ? '' : `Step ${Math.min(n, 5)} of 5.`;
  const first = $(`step-${step}`).querySelector('input, button');
  if (first) first.focus();
}

function message(text) {
  const m = $('message');
  m.textContent = text || '';
  m.hidden = !text;
}

async function call(path, body) {
  const r = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error((data.error && data.error.message) || `error ${r.status}`);
    e.status = r.status;
    e.field = data.error && data.error.field;
    throw e;
  }
  return data;
}

function render(state) {
  if (state.complete) { show('done'); return; }
  $('sum-admin').textContent = state.admin || '—';
  $('sum-hostname').textContent = state.hostname || '—';
  $('sum-timezone').textContent = state.timezone || '—';
  $('sum-domain').textContent = state.domain || 'none';
  if (state.step === 'domain' && showSummary) { show('summary'); return; }
  show(state.step);
}

async function refresh() {
  try {
    render(await call('/api/v1/setup'));
  } catch (e) {
    if (e.status === 410) show('done');
    else message(e.message);
  }
}

function onSubmit(id, build) {
  $(id).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    message('');
    try {
      const body = build();
      if (body === null) return;
      const state = await call(`/api/v1/setup/${id.replace('step-', '')}`, body);
      if (id === 'step-domain') showSummary = true;
      render(state);
    } catch (e) {
      message(e.message);
      if (e.field && $(e.field)) $(e.field).focus();
    }
  });
}

onSubmit('step-claim', () => ({ code: $('code').value }));
onSubmit('step-admin', () => {
  if ($('password').value !== $('password2').value) {
    message('The two passwords differ.');
    $('password2').focus();
    return null;
  }
  return { username: $('username').value, password: $('password').value };
});
onSubmit('step-host', () => ({ hostname: $('hostname').value, timezone: $('timezone').value }));
onSubmit('step-domain', () => ({ domain: $('domain').value, email: $('email').value }));

$('back-domain').addEventListener('click', () => { showSummary = false; show('domain'); });
$('finish').addEventListener('click', async () => {
  message('');
  try {
    await call('/api/v1/setup/finish', {});
    show('done');
  } catch (e) {
    message(e.message);
  }
});

// Sensible defaults: the browser's time zone.
try { $('timezone').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { $('timezone').value = 'UTC'; }
refresh();
