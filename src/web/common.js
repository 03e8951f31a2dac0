// Helpers shared by the account and administration pages.
'use strict';

const $ = (id) => document.getElementById(id);

function message(text) {
  const m = $('message');
  m.textContent = text || '';
  m.hidden = !text;
}

// Calls the API; on 401 goes to the sign-in page and back.
async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (r.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new Error('signed out');
  }
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || `error ${r.status}`);
  return data;
}

function cell(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function row(values, action) {
  const tr = document.createElement('tr');
  values.forEach((v, i) => {
    const c = cell(i === 0 ? 'th' : 'td', v);
    if (i === 0) c.scope = 'row';
    tr.appendChild(c);
  });
  const td = cell('td');
  if (action) td.appendChild(action);
  tr.appendChild(td);
  return tr;
}

function button(label, onClick, cls) {
  const b = cell('button', label);
  b.type = 'button';
  b.className = cls || 'secondary';
  b.addEventListener('click', onClick);
  return b;
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : '—';
}

async function whoami() {
  const me = await api('GET', '/api/v1/session');
  $('whoami').textContent = `${me.username} (${me.role})`;
  return me;
}
