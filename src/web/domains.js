// Domains: the names Caddy serves on the box, where each leads, and how
// each stands (in force or not, whether its DNS reaches the box, the
// certificate it shows), live from the proxy topic. Admins add, change
// and remove any domain, for anyone, leading anywhere on the box; members
// add, change and remove their own, leading to a tcp port one of their
// servers publishes.
'use strict';

// What the page knows: who is signed in, the domains as the API last
// listed them (with whether each is in force), the manager's newest
// report (the web server's state and each domain's health), and the
// domain being changed in the form (null: the form adds one).
const dm = {
  me: null,
  managed: true,
  notManaged: null,
  // null until the list is first read: "no domains" only once it is known.
  domains: null,
  // The servers the caller may see (an admin: all), from the servers' API.
  servers: [],
  report: null,
  editing: null,
  // The target of the domain being changed, kept as it is when a member
  // keeps where an admin led it.
  editingTarget: null,
  // A list read that is on its way, and whether another was asked for
  // meanwhile: reports may come faster than the list is read.
  reading: null,
  readAgain: false,
};

const isAdmin = () => dm.me && dm.me.role === 'admin';

// --- Words ---------------------------------------------------------

function leadsTo(target) {
  if (!target) return '—';
  if (target.kind === 'hearth') return 'hearth itself (these pages)';
  if (target.kind === 'server') {
    const s = dm.servers.find((x) => x.id === target.server);
    return s ? `Server ${s.name} (${s.id}), port ${target.port}` : `Server ${target.server}, port ${target.port}`;
  }
  const host = target.address.includes(':') ? `[${target.address}]` : target.address;
  return `${host}:${target.port}`;
}

// The servers a domain of `owner`'s may lead to.
function serversOf(owner) {
  return dm.servers.filter((s) => s.owner === owner && !s.deleting);
}

function tcpPorts(server) {
  return (server.ports || []).filter((p) => p.protocol === 'tcp').map((p) => p.port);
}

const TLS_WORDS = {
  auto: 'Public certificate (Let\'s Encrypt)',
  internal: "The box's own authority",
  off: 'None: plain HTTP',
};

const DAY_MS = 86400000;

// "84 days left", or hours within the last two days.
function timeLeft(notAfterMs) {
  const left = notAfterMs - Date.now();
  if (left <= 0) return 'expired';
  if (left < 2 * DAY_MS) {
    const hours = Math.floor(left / 3600000);
    return hours < 1 ? 'less than an hour left' : `${hours === 1 ? '1 hour' : `${hours} hours`} left`;
  }
  const days = Math.floor(left / DAY_MS);
  return `${days} days left`;
}

function day(ms) {
  return new Date(ms).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

// Whether the record is in force: a word for the pill, its class, and
// what to say beside it.
function applyState(d) {
  const a = d.apply || { state: 'pending' };
  if (a.state === 'applied') return { word: 'Applied', cls: 'on', text: 'Caddy serves it as shown.' };
  if (a.state === 'failed') {
    return { word: 'Failed', cls: 'failure', text: `Caddy did not take it: ${a.error}. It keeps serving its previous configuration.` };
  }
  if (!dm.managed) return { word: 'Stored', cls: '', text: 'Stored; the web server is not managed here.' };
  const down = dm.report && dm.report.state === 'degraded';
  return {
    word: 'Pending',
    cls: down ? 'failure' : '',
    text: down ? 'Waiting for the web server, which hearth cannot reach now.' : 'Waiting for the web server to load it…',
  };
}

// The DNS check in words: does the name lead here?
function dnsWords(d, health) {
  if (!health) return 'Not checked yet.';
  const dns = health.dns;
  if (dns.error) {
    if (d.name.startsWith('*.')) return 'A wildcard is not looked up: each host under it is.';
    return `Does not lead here: the name ${dns.error}. Point its DNS (an A or AAAA record) at this box.`;
  }
  const all = dns.addresses.join(', ');
  if (dns.to_this_box) {
    return dns.foreign.length
      ? `Leads to this box (${all}); also to ${dns.foreign.join(', ')}, which is not this box.`
      : `Leads to this box (${all}).`;
  }
  return `Leads elsewhere: ${all}, not this box.`;
}

function certWords(d, health) {
  if (d.tls === 'off') return 'None: plain HTTP.';
  if (d.name.startsWith('*.')) return 'One per host under it, made when first asked for.';
  if (!health) return 'Not checked yet.';
  const c = health.certificate;
  if (!c) return `Not readable yet: ${health.certificate_error || 'no answer'}.`;
  const who = c.self_signed ? `${c.issuer} (self-signed)` : c.issuer;
  return `From ${who}; valid until ${day(c.not_after_ms)} (${timeLeft(c.not_after_ms)}).`;
}

// The health of `name` from the newest report, if any.
function healthOf(name) {
  const status = dm.report && dm.report.status;
  const found = status && (status.domains || []).find((x) => x.name === name);
  return found ? found.health || null : null;
}

// --- The list ------------------------------------------------------

function fact(dl, term, value, key) {
  const dt = el('dt', term);
  const dd = el('dd');
  if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
  if (key) dd.dataset.field = key;
  dl.append(dt, dd);
  return dd;
}

function domainItem(d) {
  const li = el('li', null, 'domain');
  li.dataset.name = d.name;
  const head = el('div', null, 'domain-head');
  const h = el('h3', d.name);
  const state = applyState(d);
  const pill = el('span', state.word, `pill ${state.cls}`.trim());
  pill.dataset.field = 'apply-state';
  head.append(h, pill);
  li.appendChild(head);

  const dl = el('dl', null, 'summary');
  fact(dl, 'In force', state.text, 'apply');
  fact(dl, 'Leads to', leadsTo(d.target), 'target');
  if (d.target_error) {
    fact(dl, 'Not reached', `Visitors get an error page: ${d.target_error}.`, 'target-error');
  }
  if (isAdmin()) fact(dl, 'Owner', d.owner, 'owner');
  fact(dl, 'HTTPS', `${TLS_WORDS[d.tls] || d.tls}${d.hsts ? ', HTTPS only (HSTS)' : ''}`, 'tls');
  const health = healthOf(d.name);
  fact(dl, 'DNS', dnsWords(d, health), 'dns');
  fact(dl, 'Certificate', certWords(d, health), 'certificate');
  if (health) {
    const checked = el('span', ago(health.checked_ms));
    checked.title = when(health.checked_ms);
    fact(dl, 'Checked', checked, 'checked');
  }
  li.appendChild(dl);

  const actions = el('div', null, 'buttons domain-actions');
  actions.appendChild(labelled(button('Change', () => edit(d)), `Change ${d.name}`));
  actions.appendChild(labelled(button('Remove', () => remove(d)), `Remove ${d.name}`));
  li.appendChild(actions);
  return li;
}

function render() {
  if (!dm.domains) return;
  const list = $('domains');
  // The focus stays on the button it was on, when its row is drawn again.
  const focus = document.activeElement;
  const focusAt = focus && list.contains(focus) && focus.getAttribute('aria-label');
  list.replaceChildren(...dm.domains.map(domainItem));
  $('domains-none').hidden = dm.domains.length > 0;
  if (focusAt) {
    const again = Array.from(list.querySelectorAll('button')).find((b) => b.getAttribute('aria-label') === focusAt);
    if (again) again.focus();
  }
}

// Reads the list; a read asked for while one is on its way follows it.
async function readList() {
  if (dm.reading) {
    dm.readAgain = true;
    return dm.reading;
  }
  dm.reading = (async () => {
    try {
      do {
        dm.readAgain = false;
        const [r, s] = await Promise.all([
          api('GET', '/api/v1/domains'),
          api('GET', '/api/v1/servers'),
        ]);
        dm.domains = r.domains;
        dm.managed = r.managed;
        dm.notManaged = r.not_managed;
        dm.servers = s.servers;
        render();
        renderState();
        fillServers();
        showForm();
      } while (dm.readAgain);
    } finally {
      dm.reading = null;
    }
  })();
  return dm.reading;
}

async function remove(d) {
  const sure = await confirmAction({
    title: `Remove ${d.name}?`,
    text: `The box stops serving ${d.name} and forgets its certificate settings. Its DNS records stay as they are.`,
    confirm: 'Remove',
  });
  if (!sure) return;
  try {
    await api('DELETE', `/api/v1/domains/${encodeURIComponent(d.name)}`);
    dm.domains = dm.domains.filter((x) => x.name !== d.name);
    if (dm.editing === d.name) stopEditing();
    render();
    say('message', `${d.name} was removed.`, 'ok');
    // Its button is gone: the list's heading takes the focus.
    $('h-domains').focus();
  } catch (e) {
    if (e.status === 404) readList().catch(() => {});
    say('message', e.message, 'error');
  }
}

// --- The web server's state -----------------------------------------

// What a failed pass's step means for the domains.
const FAILED_STEP = {
  'cannot observe the component': 'Caddy unreachable',
  'cannot apply the plan': 'Caddy did not take the new configuration',
  'cannot read the desired state': 'The domains could not be read',
};

const LOAD_REASONS = {
  start: 'hearth started',
  'domains changed': 'the domains changed',
  'servers changed': 'a server changed',
  'settings changed': 'the settings changed',
  'Caddy restarted': 'Caddy restarted',
};

function renderState() {
  const state = $('proxy-state');
  const r = dm.report;
  $('proxy-cause').hidden = true;
  $('proxy-last').hidden = true;
  if (!dm.managed && (!r || r.state === 'disabled')) {
    state.className = 'state-line state-disabled';
    state.textContent = `Not managed here: ${dm.notManaged || 'hearth leaves the web server alone'}. Domains are stored, not served.`;
    return;
  }
  if (!r) {
    state.className = 'state-line';
    state.textContent = "Waiting for the web server's report…";
    return;
  }
  if (r.state === 'ok') {
    state.className = 'state-line state-ok';
    // An admin's report holds every domain; a member's only their own,
    // so a count would mean nothing to them.
    const n = ((r.status && r.status.domains) || []).length;
    const served = n === 1 ? '1 domain served' : `${n} domains served`;
    state.textContent = isAdmin() ? `Caddy is up: ${served}.` : 'Caddy is up.';
  } else if (r.state === 'degraded') {
    state.className = 'state-line state-degraded';
    // The detail names the failed step ("cannot observe the component;
    // see the log"): in the domains' words first.
    const step = Object.keys(FAILED_STEP).find((k) => (r.detail || '').startsWith(k));
    const what = step ? FAILED_STEP[step] : 'Not working';
    const retry = r.retry_in_ms ? ` Trying again in ${seconds(Math.ceil(r.retry_in_ms / 1000))}.` : '';
    const kept = r.status ? ' What was in force stays in force.' : '';
    state.textContent = `${what}: ${r.detail}.${kept}${retry}`.replace(/\.\./g, '.');
  } else {
    state.className = 'state-line state-disabled';
    state.textContent = `Not active: ${r.detail}.`.replace(/\.\.$/, '.');
  }
  if (r.cause) {
    $('proxy-cause').textContent = `Cause: ${r.cause}`;
    $('proxy-cause').hidden = false;
  }
  const last = r.status && r.status.last_load;
  if (last) {
    $('proxy-last').textContent = `Last loaded ${ago(last.at_ms)} (${when(last.at_ms)}), because ${LOAD_REASONS[last.reason] || last.reason}.`;
    $('proxy-last').hidden = false;
  }
}

// A report: the state at once; the list read again, since whether each
// record is in force is what the API says after the load it reports.
function onReport(r) {
  dm.report = r;
  renderState();
  render();
  readList().catch((e) => say('message', e.message, 'error'));
}

// --- The form: add, or change one ------------------------------------

const FIELDS = {
  name: 'd-name',
  owner: 'd-owner',
  target: 'd-kind-address',
  'target.kind': 'd-kind-address',
  'target.address': 'd-address',
  'target.port': 'd-port',
  'target.server': 'd-server',
  tls: 'd-tls',
  hsts: 'd-hsts',
};

const SUBJECTS = {
  name: 'The name',
  owner: 'The owner',
  target: 'The target',
  'target.kind': 'The target',
  'target.address': 'The address',
  'target.port': 'The port',
  'target.server': 'The server',
  tls: 'This certificate choice',
  hsts: 'HSTS',
};

function kind() {
  const checked = document.querySelector('input[name="d-kind"]:checked');
  return checked ? checked.value : 'address';
}

function showKind() {
  $('d-address-fields').hidden = kind() !== 'address';
  $('d-server-fields').hidden = kind() !== 'server';
}
for (const k of ['server', 'address', 'hearth', 'keep']) {
  $(`d-kind-${k}`).addEventListener('change', showKind);
}

// The owner's servers in the server choice, the one chosen kept; a
// server a domain being changed leads to that is gone is kept too, said
// so (the box refuses it, rather than the page choosing another).
function fillServers(want) {
  const owner = isAdmin() ? $('d-owner').value || dm.me.username : dm.me.username;
  const select = $('d-server');
  const chosen = want || select.value;
  const list = serversOf(owner);
  const options = list.map((s) => {
    const o = el('option', `${s.name} (${s.id})`);
    o.value = s.id;
    return o;
  });
  if (chosen && !list.some((s) => s.id === chosen)) {
    const o = el('option', `${chosen} (gone)`);
    o.value = chosen;
    options.push(o);
  }
  if (!options.length) {
    const o = el('option', isAdmin() ? `${owner} has no server yet` : 'You have no server yet');
    o.value = '';
    options.push(o);
  }
  select.replaceChildren(...options);
  if (chosen && options.some((o) => o.value === chosen)) select.value = chosen;
  fillPorts();
}

// The chosen server's published tcp ports in the port choice.
function fillPorts(want) {
  const select = $('d-server-port');
  const chosen = want !== undefined ? String(want) : select.value;
  const server = dm.servers.find((s) => s.id === $('d-server').value && !s.deleting);
  const ports = server ? tcpPorts(server) : [];
  const options = ports.map((p) => {
    const o = el('option', String(p));
    o.value = String(p);
    return o;
  });
  if (chosen && !ports.includes(Number(chosen)) && want !== undefined) {
    const o = el('option', `${chosen} (no longer published)`);
    o.value = chosen;
    options.push(o);
  }
  if (!options.length) {
    const o = el('option', server ? 'It publishes no tcp port' : '—');
    o.value = '';
    options.push(o);
  }
  select.replaceChildren(...options);
  if (chosen && options.some((o) => o.value === chosen)) select.value = chosen;
}
$('d-server').addEventListener('change', () => fillPorts());
$('d-owner').addEventListener('change', () => fillServers());

// A member gets the form once they have a server to lead a domain to (or
// while they change one of theirs); until then, the note says how.
function showForm() {
  if (!dm.me || isAdmin()) return;
  const none = serversOf(dm.me.username).length === 0;
  $('member-note').hidden = !none;
  $('domain-form').hidden = none && !dm.editing;
}

async function loadOwners() {
  const users = await api('GET', '/api/v1/users');
  const chosen = $('d-owner').value || dm.me.username;
  $('d-owner').replaceChildren(...users.map((u) => {
    const o = el('option', `${u.username} (${u.role})`);
    o.value = u.username;
    o.selected = u.username === chosen;
    return o;
  }));
}

function edit(d) {
  const form = $('domain-form');
  clearErrors(form);
  dm.editing = d.name;
  $('h-domain-form').textContent = `Change ${d.name}`;
  $('d-name').value = d.name;
  $('d-name').readOnly = true;
  $('d-owner').value = d.owner;
  dm.editingTarget = d.target;
  // A member keeps where an admin led their domain, or leads it to one
  // of their servers.
  const keep = !isAdmin() && d.target.kind !== 'server';
  $('d-kind-keep-label').hidden = !keep;
  $('d-kind-keep-text').textContent = `Where an admin led it: ${leadsTo(d.target)}`;
  $(keep ? 'd-kind-keep' : `d-kind-${d.target.kind}`).checked = true;
  $('d-address').value = d.target.kind === 'address' ? d.target.address : '';
  $('d-port').value = d.target.kind === 'address' ? String(d.target.port) : '';
  if (d.target.kind === 'server') {
    fillServers(d.target.server);
    fillPorts(d.target.port);
  } else {
    fillServers();
  }
  showKind();
  showForm();
  $('d-tls').value = d.tls;
  $('d-hsts').checked = Boolean(d.hsts);
  $('d-submit').textContent = 'Save changes';
  $('d-cancel').hidden = false;
  $('h-domain-form').scrollIntoView({ block: 'start' });
  (isAdmin() ? $('d-owner') : $(`d-kind-${keep ? 'keep' : d.target.kind}`)).focus();
}

function stopEditing() {
  const form = $('domain-form');
  clearErrors(form);
  form.reset();
  dm.editing = null;
  dm.editingTarget = null;
  $('h-domain-form').textContent = 'Add a domain';
  $('d-name').readOnly = false;
  $('d-owner').value = dm.me.username;
  $('d-kind-keep-label').hidden = true;
  // A member's one choice; an admin's first is an address.
  $(isAdmin() ? 'd-kind-address' : 'd-kind-server').checked = true;
  fillServers();
  showKind();
  showForm();
  $('d-submit').textContent = 'Add domain';
  $('d-cancel').hidden = true;
}

$('d-cancel').addEventListener('click', () => {
  const name = dm.editing;
  stopEditing();
  const back = Array.from($('domains').querySelectorAll('button'))
    .find((b) => b.getAttribute('aria-label') === `Change ${name}`);
  (back || $('d-name')).focus();
});

// The form as the API's body; the server checks the rest.
function body() {
  const b = {
    name: $('d-name').value.trim(),
    owner: $('d-owner').value || undefined,
    target: { kind: kind() },
    hsts: $('d-hsts').checked,
  };
  if (kind() === 'address') {
    b.target.address = $('d-address').value.trim();
    b.target.port = Number($('d-port').value.trim());
  }
  if (kind() === 'server') {
    b.target.server = $('d-server').value;
    b.target.port = Number($('d-server-port').value);
  }
  if (kind() === 'keep') b.target = dm.editingTarget;
  if ($('d-tls').value) b.tls = $('d-tls').value;
  return b;
}

// What the page can tell before asking the box: something missing, or
// a port that is no number. Returns false after marking the field.
function complete() {
  if (!$('d-name').value.trim()) {
    fieldError($('d-name'), 'Enter the name, such as cloud.example.org.');
    return false;
  }
  if (kind() === 'address') {
    if (!$('d-address').value.trim()) {
      fieldError($('d-address'), 'Enter an address on the box, such as 127.0.0.1.');
      return false;
    }
    if (!/^\d{1,5}$/.test($('d-port').value.trim())) {
      fieldError($('d-port'), 'Enter a port number from 1 to 65535.');
      return false;
    }
  }
  if (kind() === 'server') {
    if (!$('d-server').value) {
      fieldError($('d-server'), 'Choose a server: make one on the Servers page first.');
      return false;
    }
    if (!$('d-server-port').value) {
      fieldError($('d-server-port'), 'Choose a port: publish a tcp port on the server first.');
      return false;
    }
  }
  return true;
}

// A refusal at the field it names, in a sentence about that field.
function showRefusal(e) {
  const form = $('domain-form');
  if (e.status === 409) {
    fieldError($('d-name'), `${$('d-name').value.trim()} is a domain of this box already: change it in the list instead.`);
    return;
  }
  const at = e.field === 'target.port' && kind() === 'server' ? 'd-server-port' : FIELDS[e.field];
  const input = e.field && at && $(at);
  if (e.status !== 400 || !input) {
    say($('form-message'), e.message, 'error');
    return;
  }
  // The message names its field first ("target.port must be ..."): the
  // page names it in words instead.
  let raw = e.message;
  const lead = `${e.field} `;
  if (raw.toLowerCase().startsWith(lead.toLowerCase())) raw = raw.slice(lead.length);
  const verb = /^(is|must|may|cannot|needs|of|each|has|takes)\b/.test(raw);
  const text = verb ? `${SUBJECTS[e.field]} ${raw}` : raw.charAt(0).toUpperCase() + raw.slice(1);
  if (input.type === 'radio') say($('form-message'), text, 'error');
  else fieldError(input, text);
}

$('domain-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = $('domain-form');
  clearErrors(form);
  say('message', '');
  if (!complete()) return;
  const submit = $('d-submit');
  submit.disabled = true;
  const editing = dm.editing;
  try {
    const b = body();
    const d = editing
      ? await api('PUT', `/api/v1/domains/${encodeURIComponent(editing)}`, b)
      : await api('POST', '/api/v1/domains', b);
    dm.domains = (dm.domains || []).filter((x) => x.name !== d.name).concat([d])
      .sort((x, y) => x.name.localeCompare(y.name));
    stopEditing();
    render();
    // Read again: the load may have been reported before this reply came.
    readList().catch(() => {});
    say('message', editing
      ? `${d.name} was changed; the web server takes the change within a second or two.`
      : `${d.name} was added; the web server takes it within a second or two.`, 'ok');
  } catch (e) {
    showRefusal(e);
  } finally {
    submit.disabled = false;
  }
});

// --- Start -----------------------------------------------------------

pageFor('domains', ['admin', 'member'])
  .then(async (me) => {
    if (!me) return;
    dm.me = me;
    $('domains-page').hidden = false;
    if (isAdmin()) {
      $('h-domains').textContent = 'All domains';
      $('domain-form').hidden = false;
      $('d-kind-server-text').textContent = "One of the owner's servers";
      await loadOwners();
    } else {
      // Only their own servers: no owner to choose, no other kind.
      $('d-owner-fields').hidden = true;
      $('d-kind-address-label').hidden = true;
      $('d-kind-hearth-label').hidden = true;
    }
    await readList();
    stopEditing();
    followTopic('proxy', onReport);
  })
  .catch((e) => { $('domains-page').hidden = false; say('message', e.message, 'error'); });
