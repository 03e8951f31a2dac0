// The setup wizard: each step is one call of the setup API; the server
// says which step comes next. Back shows an earlier step again (its call
// replaces what was entered). Finishing signs the new admin in with the
// password typed in step 2, kept in this page only, and opens the status.
'use strict';

const STEPS = ['claim', 'admin', 'host', 'domain', 'summary', 'done'];
const TITLES = {
  claim: 'Prove you are at the box', admin: 'Create the admin account', host: 'Name the box',
  domain: 'A domain (optional)', summary: 'Check and finish', done: 'Done',
};
let admin = null; // { username, password } from step 2, until finished

function show(step) {
  for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
  const n = STEPS.indexOf(step) + 1;
  $('progress').textContent = step === 'done' ? '' : `Step ${n} of 5.`;
  // Screen readers hear which step this is; the keyboard lands where
  // the work is: the first field, or on the summary the Finish button.
  $('step-announce').textContent = step === 'done' ? 'Setup is done.' : `Step ${n} of 5: ${TITLES[step]}.`;
  const target = step === 'summary' ? $('finish')
    : step === 'done' ? $('h-done')
      : $(`step-${step}`).querySelector('input');
  if (target) target.focus();
}

function render(state) {
  if (state.complete) { show('done'); return; }
  $('sum-admin').textContent = state.admin || '—';
  $('sum-hostname').textContent = state.hostname || '—';
  $('sum-timezone').textContent = state.timezone || '—';
  $('sum-domain').textContent = state.domain || 'none';
  if (state.admin && !$('username').value) $('username').value = state.admin;
  if (state.hostname) $('hostname').value = state.hostname;
  if (state.timezone) $('timezone').value = state.timezone;
  if (state.domain) $('domain').value = state.domain;
  show(state.step);
}

async function refresh() {
  try {
    render(await api('GET', '/api/v1/setup', undefined, { signIn: false }));
  } catch (e) {
    if (e.status === 410) show('done');
    else say('message', e.message, 'error');
  }
}

// One step's form: validate here what a person can fix at once, then
// let the server decide; `next` says what follows a success.
function step(id, build, next) {
  onSubmit($(id), async () => {
    say('message', '');
    const body = build();
    if (body === null) return;
    let state;
    try {
      state = await api('POST', `/api/v1/setup/${id.replace('step-', '')}`, body, { signIn: false });
    } catch (e) {
      if (e.code === 'wrong_setup_code') {
        e.field = 'code';
        e.message = 'That is not the code on the box’s screen. Check it, then try again; after a few wrong tries the box shows a new one.';
      }
      throw e;
    }
    if (next) next(state); else render(state);
  });
}

step('step-claim', () => {
  const code = $('code').value.trim();
  if (!code) { fieldError($('code'), 'Enter the code shown on the box’s screen.'); return null; }
  return { code };
});
step('step-admin', () => {
  const username = $('username').value.trim();
  const password = $('password').value;
  if (!username) { fieldError($('username'), 'Choose a username.'); return null; }
  if (password.length < 12) { fieldError($('password'), `Use at least 12 characters (this one has ${password.length}).`); return null; }
  if (password !== $('password2').value) { fieldError($('password2'), 'The two passwords differ.'); return null; }
  admin = { username, password };
  return { username, password };
});
step('step-host', () => ({ hostname: $('hostname').value.trim(), timezone: $('timezone').value.trim() }));
step('step-domain', () => ({ domain: $('domain').value.trim(), email: $('email').value.trim() }), (state) => {
  render(state);
  show('summary');
});

$('show-password').addEventListener('click', () => {
  const shown = $('password').type === 'text';
  for (const id of ['password', 'password2']) $(id).type = shown ? 'password' : 'text';
  $('show-password').textContent = shown ? 'Show' : 'Hide';
  $('show-password').setAttribute('aria-pressed', String(!shown));
});
$('back-host').addEventListener('click', () => show('admin'));
$('back-domain').addEventListener('click', () => show('host'));
$('back-summary').addEventListener('click', () => show('domain'));
$('hostname').addEventListener('input', () => {
  $('hostname-example').textContent = $('hostname').value.trim() || 'hearth';
});

$('finish').addEventListener('click', async () => {
  say('message', '');
  $('finish').disabled = true;
  try {
    await api('POST', '/api/v1/setup/finish', {}, { signIn: false });
  } catch (e) {
    $('finish').disabled = false;
    say('message', e.message, 'error');
    return;
  }
  if (admin) {
    try {
      await api('POST', '/api/v1/session', admin, { signIn: false });
      admin = null;
      location.assign('/');
      return;
    } catch (e) { /* the done step offers the sign-in page */ }
  }
  show('done');
});

// A suggested name (the box's current one, from the header's look-up,
// if it is a valid host name) and the zones this box knows, with the
// browser's own zone first.
async function defaults(box) {
  const zones = await api('GET', '/api/v1/timezones', undefined, { signIn: false }).catch(() => []);
  if (!$('hostname').value) {
    const name = box && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(box.name) ? box.name : 'hearth';
    $('hostname').value = name;
    $('hostname-example').textContent = name;
  }
  $('zones').replaceChildren(...zones.map((z) => { const o = el('option'); o.value = z; return o; }));
  if (!$('timezone').value) {
    let zone = 'UTC';
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { /* UTC */ }
    $('timezone').value = zones.length && !zones.includes(zone) ? 'UTC' : zone;
  }
}

shell({ page: 'setup' }).then(({ box }) => defaults(box)).then(refresh);
