// The shell every page shares: the header (product, the box's name,
// navigation by role, who is signed in, sign out), calls to the API with
// errors in people's words, errors placed next to their field, messages
// that are not red unless something failed, and one confirmation dialog
// for destructive actions. Plain script under the strict CSP: no inline
// script or style, text only through textContent.
'use strict';

const $ = (id) => document.getElementById(id);

// The pages in the header, in order. A manager's page is one more line.
const NAV = [
  { href: '/', label: 'Status', roles: ['admin', 'member', 'viewer', 'visitor'] },
  { href: '/domains', label: 'Domains', roles: ['admin', 'member'] },
  { href: '/servers', label: 'Servers', roles: ['admin', 'member'] },
  { href: '/account', label: 'Account', roles: ['admin', 'member', 'viewer'] },
  { href: '/admin', label: 'Admin', roles: ['admin'] },
];

// What a failed call says: the server's code and field, and a message a
// person can act on.
class ApiFailure extends Error {
  constructor(message, { status = 0, code = '', field = null, retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const UNREACHABLE = "Can't reach the box. Check that it is on and connected, then try again.";

function seconds(n) {
  if (n >= 120) return `${Math.ceil(n / 60)} minutes`;
  return n === 1 ? '1 second' : `${n} seconds`;
}

// Calls the API. `opts.signIn` (default true) sends a 401 to the sign-in
// page and back; pages that handle 401 themselves turn it off.
async function api(method, path, body, opts = {}) {
  let r;
  try {
    r = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiFailure(UNREACHABLE, { code: 'unreachable' });
  }
  if (r.status === 401 && opts.signIn !== false) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new ApiFailure('Signed out.', { status: 401, code: 'signed_out' });
  }
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (r.ok) return data;
  const err = data.error || {};
  const retryAfter = Number(r.headers.get('retry-after')) || null;
  let message = err.message || `The box answered with an error (${r.status}).`;
  if (r.status === 429 && retryAfter) message = `Too many tries. Wait ${seconds(retryAfter)}, then try again.`;
  else if (r.status >= 500) message = 'Something went wrong on the box. Try again; if it keeps happening, see its log.';
  // The server's messages start in lower case ("must be ..."): a sentence here.
  message = message.charAt(0).toUpperCase() + message.slice(1);
  if (!/[.!?]$/.test(message)) message += '.';
  throw new ApiFailure(message, { status: r.status, code: err.code || '', field: err.field || null, retryAfter });
}

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function button(label, onClick, className) {
  const b = el('button', label, className || 'secondary');
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

// Names a button for screen readers where its text alone ("Revoke", in
// every row) does not say what it acts on.
function labelled(b, label) {
  b.setAttribute('aria-label', label);
  return b;
}

// A table row: the first value is the row's header.
function row(values, actions) {
  const tr = document.createElement('tr');
  values.forEach((v, i) => {
    const c = el(i === 0 ? 'th' : 'td');
    if (v instanceof Node) c.appendChild(v); else c.textContent = v;
    if (i === 0) c.scope = 'row';
    tr.appendChild(c);
  });
  if (actions !== undefined) {
    const td = el('td', null, 'actions');
    for (const a of [].concat(actions || [])) td.appendChild(a);
    tr.appendChild(td);
  }
  return tr;
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : '—';
}

// "3 min ago", for activity.
function ago(ms) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return when(ms);
}

// --- Messages and field errors ---------------------------------------

// A message in the box `target` (an element or its id): `kind` is 'error'
// (red), 'ok' or 'info'. The boxes are live regions from the start
// (role=status in the page, empty until used), so that the first message
// is announced too. When the control that acted is gone (its row was
// drawn again), the message takes the focus, so a keyboard user is not
// sent back to the top of the page.
function say(target, text, kind = 'info') {
  const m = typeof target === 'string' ? $(target) : target;
  if (!m) return;
  m.textContent = text || '';
  m.classList.toggle('error', Boolean(text) && kind === 'error');
  m.classList.toggle('ok', Boolean(text) && kind === 'ok');
  const focus = document.activeElement;
  if (text && (!focus || focus === document.body || !focus.isConnected)) m.focus();
}

function fieldErrorId(input) {
  return `${input.id}-error`;
}

// Takes a form's old errors away.
function clearErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute('aria-invalid');
    const note = $(fieldErrorId(input));
    if (note) note.remove();
    const described = (input.getAttribute('aria-describedby') || '')
      .split(' ').filter((id) => id && id !== fieldErrorId(input));
    if (described.length) input.setAttribute('aria-describedby', described.join(' '));
    else input.removeAttribute('aria-describedby');
  }
  const m = form.querySelector('.form-message');
  if (m) say(m, '');
}

// Marks `input` wrong, with `text` right under it, and moves focus there.
function fieldError(input, text) {
  input.setAttribute('aria-invalid', 'true');
  let note = $(fieldErrorId(input));
  if (!note) {
    note = el('p', null, 'field-error');
    note.id = fieldErrorId(input);
    input.insertAdjacentElement('afterend', note);
  }
  note.textContent = text;
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  if (!described.includes(note.id)) described.push(note.id);
  input.setAttribute('aria-describedby', described.join(' '));
  input.focus();
}

// Shows a failed call on `form`: beside the field it names (the server's
// field, mapped through `fields` to an input id where they differ), or
// in the form's message box.
function showError(form, error, fields = {}) {
  const id = error.field && (fields[error.field] || error.field);
  const input = id && form.querySelector(`#${CSS.escape(id)}`);
  if (input) {
    fieldError(input, error.message);
    return;
  }
  say(formMessage(form), error.message, 'error');
}

// The form's own message box, made (empty, already a live region) when
// the form is set up rather than when the first error comes.
function formMessage(form) {
  let m = form.querySelector('.form-message');
  if (!m) {
    m = el('p', null, 'message form-message');
    m.setAttribute('role', 'status');
    m.tabIndex = -1;
    form.prepend(m);
  }
  return m;
}

// Runs a form's submit: old errors cleared, the button busy meanwhile,
// a failure shown where it belongs. `work` returns true on success.
function onSubmit(form, work, fields) {
  formMessage(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const submit = form.querySelector('button[type="submit"]');
    if (submit) submit.disabled = true;
    try {
      await work();
    } catch (e) {
      showError(form, e, fields);
    } finally {
      if (submit) submit.disabled = false;
    }
  });
}

// --- Confirmation -----------------------------------------------------

let dialog = null;

// Asks before something that cannot be undone. Resolves to true only on
// the confirming button; Escape, Cancel or a click outside say no.
function confirmAction({ title, text, confirm = 'Delete' }) {
  if (!dialog) {
    dialog = el('dialog', null, 'confirm');
    dialog.setAttribute('aria-labelledby', 'confirm-title');
    dialog.setAttribute('aria-describedby', 'confirm-text');
    const form = el('form');
    form.method = 'dialog';
    const h = el('h2');
    h.id = 'confirm-title';
    const p = el('p');
    p.id = 'confirm-text';
    const buttons = el('div', null, 'buttons');
    const cancel = el('button', 'Cancel', 'secondary');
    cancel.value = 'cancel';
    const ok = el('button', '', 'danger');
    ok.value = 'confirm';
    ok.id = 'confirm-ok';
    buttons.append(cancel, ok);
    form.append(h, p, buttons);
    dialog.appendChild(form);
    // The dialog itself has no padding (the form has it), so a click
    // whose target is the dialog fell on the backdrop around it.
    dialog.addEventListener('click', (ev) => { if (ev.target === dialog) dialog.close('cancel'); });
    document.body.appendChild(dialog);
  }
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = confirm;
  dialog.returnValue = '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'confirm');
    }, { once: true });
    dialog.showModal();
    // The safe choice has the focus: Enter alone destroys nothing.
    dialog.querySelector('button[value="cancel"]').focus();
  });
}

// Copies `text` to the clipboard and says so on the button.
function copyButton(label, getText) {
  const b = button(label, async () => {
    try {
      await navigator.clipboard.writeText(getText());
      b.textContent = 'Copied';
    } catch (e) {
      b.textContent = 'Select and copy it by hand';
    }
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

// --- A server certificate's files ----------------------------------------

// A link that saves `text` as `name` (a certificate's PEM files, shown
// once: the box keeps no key).
function download(name, text) {
  const a = el('a', name);
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
  a.download = name;
  a.dataset.file = name;
  return a;
}

// The command that makes a docker context of the saved files for server `s`.
function contextCommand(s) {
  return `docker context create hearth-${s.name} --docker "host=tcp://${location.hostname}:${s.engine_port},ca=ca.pem,cert=cert.pem,key=key.pem"\ndocker context use hearth-${s.name}`;
}

// --- Pages for some roles, live reports ----------------------------------

// Starts the page `page` (at /`page`) for `roles` only: the header, then
// resolves to who is signed in; to null when the page is not theirs to
// use: signed out, they are sent to sign in; of another role, the page's
// #no-access part says so, naming their role in #your-role.
async function pageFor(page, roles) {
  const { me } = await shell({ page });
  if (!me) { location.assign(`/login?next=/${page}`); return null; }
  if (roles.includes(me.role)) return me;
  $('your-role').textContent = me.role;
  $('no-access').hidden = false;
  return null;
}

// Follows a manager's reports on `topic`, live: `onReport` gets the one
// in the first snapshot and each one after. The browser reconnects by
// itself when the connection ends (the box closes older connections
// after a change); when the box refuses the stream, a new one starts.
// The stream ends with the page and starts again when it comes back.
function followTopic(topic, onReport) {
  let stream = null;
  const start = () => {
    const events = new EventSource(`/api/v1/events?topics=${topic}`);
    stream = events;
    events.addEventListener('snapshot', (e) => {
      const s = JSON.parse(e.data);
      if (s[topic]) onReport(s[topic]);
    });
    events.addEventListener(topic, (e) => onReport(JSON.parse(e.data)));
    events.addEventListener('error', () => {
      if (events.readyState === EventSource.CLOSED && stream === events) {
        setTimeout(() => { if (stream === events) start(); }, 5000);
      }
    });
  };
  addEventListener('pagehide', () => { if (stream) stream.close(); });
  addEventListener('pageshow', (ev) => { if (ev.persisted && stream) start(); });
  start();
}

// --- The header ---------------------------------------------------------

// Fills <header id="shell">: the box's name and, once known, the links
// this role may follow. Resolves to { box, me } (me null when signed out).
async function shell({ page }) {
  const header = $('shell');
  const brand = el('a', 'hearth', 'brand');
  brand.href = '/';
  const name = el('span', '', 'box-name');
  name.id = 'box-name';
  const nav = el('nav');
  nav.setAttribute('aria-label', 'Pages');
  const links = el('ul');
  nav.appendChild(links);
  const who = el('div', null, 'who');
  header.replaceChildren(el('div', null, 'brand-line'), nav, who);
  header.firstChild.append(brand, name);

  const [box, me] = await Promise.all([
    api('GET', '/api/v1/box', undefined, { signIn: false }).catch(() => null),
    api('GET', '/api/v1/session', undefined, { signIn: false }).catch(() => null),
  ]);
  if (box) {
    name.textContent = box.name;
    document.title = `${box.name} — ${document.title.replace(/^.*— /, '')}`;
  }
  const role = me ? me.role : 'visitor';
  for (const item of NAV) {
    if (!item.roles.includes(role)) continue;
    if (page === 'setup' || page === 'login') break;
    const li = el('li');
    const a = el('a', item.label);
    a.href = item.href;
    if (item.href === location.pathname) a.setAttribute('aria-current', 'page');
    li.appendChild(a);
    links.appendChild(li);
  }
  nav.hidden = links.children.length === 0;
  if (me) {
    const user = el('span', `${me.username}`, 'user');
    user.id = 'whoami';
    user.title = `signed in as ${me.role}`;
    const roleTag = el('span', `(${me.role})`, 'role');
    // Only once the box has ended the session: on a shared computer a
    // sign-out that failed must not look as if it worked.
    const out = button('Sign out', async () => {
      try {
        await api('DELETE', '/api/v1/session', undefined, { signIn: false });
      } catch (e) {
        if (e.status !== 401) {
          out.textContent = 'Sign-out failed: try again';
          return;
        }
      }
      location.assign('/login');
    }, 'link');
    out.id = 'signout';
    who.append(user, roleTag, out);
  } else if (page !== 'login' && page !== 'setup' && box && box.setup_complete) {
    const a = el('a', 'Sign in');
    a.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    a.id = 'signin';
    who.appendChild(a);
  }
  return { box, me };
}
