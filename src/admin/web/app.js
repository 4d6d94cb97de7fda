// The console: a token logs in (POST /v1/session), the daemon answers with an HttpOnly session
// cookie and a CSRF token this page sends with every state change. Everything shown comes from
// the admin API (docs/admin-api.md); nothing is inline, as the Content-Security-Policy demands.
'use strict';

const state = { csrf: null, role: null };

function $(id) { return document.getElementById(id); }

function show(id, visible) { $(id).hidden = !visible; }

function say(text) { $('message').textContent = text || ''; }

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  if (method !== 'GET' && state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
  const response = await fetch(path, options);
  let json = null;
  try { json = await response.json(); } catch (e) { json = null; }
  if (!response.ok) {
    const error = new Error((json && json.detail) || ('HTTP ' + response.status));
    error.status = response.status;
    throw error;
  }
  return json;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function card(label, value, alert) {
  const div = document.createElement('div');
  div.className = alert ? 'card alert' : 'card';
  const v = document.createElement('div');
  v.className = 'value';
  v.textContent = String(value);
  const l = document.createElement('div');
  l.className = 'label';
  l.textContent = label;
  div.append(v, l);
  return div;
}

async function loadOverview() {
  const [status, queues] = await Promise.all([api('GET', '/v1/status'), api('GET', '/v1/queues')]);
  const counts = $('counts');
  counts.replaceChildren(
    card('workers', status.workers), card('accounts', status.accounts),
    card('inbox pending', status.inbox_pending), card('operations pending', status.ops_pending),
    card('held', status.ops_held, status.ops_held > 0),
    card('failed', status.ops_failed, status.ops_failed > 0),
    card('scheduled', status.schedule_pending), card('audit records', status.audit_records));
  const rows = Object.entries(queues.targets).map(([name, q]) => {
    const tr = document.createElement('tr');
    cell(tr, name);
    cell(tr, q.pending);
    cell(tr, q.held);
    cell(tr, q.failed);
    return tr;
  });
  $('queues').replaceChildren(...rows);
}

const decisions = {
  approve: { path: '/v1/held/approve', label: 'Approve', done: 'approved' },
  reject: { path: '/v1/held/reject', label: 'Reject', done: 'rejected' },
  retry: { path: '/v1/failed/retry', label: 'Retry', done: 're-queued' },
};

async function decide(verb, id) {
  try {
    const result = await api('POST', decisions[verb].path, { ids: [id] });
    say(decisions[verb].done + ' operation ' + id + ' as ' + result.actor +
        (result.unknown.length ? ' (it had been decided already)' : ''));
  } catch (e) {
    say(verb + ' ' + id + ': ' + e.message);
  }
  await refresh();
}

function canDecide() { return state.role === 'approver' || state.role === 'admin'; }

// One table row per operation: id, worker, target, summary, the extra cells, then a button per
// verb the caller's role allows.
function operationRow(op, extra, verbs) {
  const tr = document.createElement('tr');
  cell(tr, op.id);
  cell(tr, op.worker_id);
  cell(tr, op.target);
  cell(tr, op.summary);
  for (const text of extra) cell(tr, text);
  const actions = cell(tr, '', 'actions');
  if (!canDecide()) return tr;
  for (const verb of verbs) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = verb;
    button.textContent = decisions[verb].label;
    button.dataset.op = String(op.id);
    button.addEventListener('click', () => decide(verb, op.id));
    actions.appendChild(button);
  }
  return tr;
}

function summary(operations, what) {
  const people = new Set(operations.map((op) => op.worker_id));
  return operations.length === 0
    ? 'Nothing is ' + what + '.'
    : operations.length + ' operation(s) ' + what + ', affecting ' + people.size + ' person(s).';
}

async function loadHeld() {
  const held = await api('GET', '/v1/held');
  $('held-summary').textContent = summary(held.operations, 'held');
  $('held').replaceChildren(
    ...held.operations.map((op) => operationRow(op, [], ['approve', 'reject'])));
}

async function loadFailed() {
  const failed = await api('GET', '/v1/failed');
  $('failed-summary').textContent = summary(failed.operations, 'failed');
  $('failed').replaceChildren(
    ...failed.operations.map((op) => operationRow(op, [op.last_error || ''], ['retry'])));
}

async function refresh() {
  try {
    await Promise.all([loadOverview(), loadHeld(), loadFailed()]);
  } catch (e) {
    if (e.status === 401) return loggedOut();
    say(e.message);
  }
}

function loggedIn(session) {
  state.csrf = session.csrf;
  state.role = session.role;
  $('who').textContent = session.identity + ' (' + session.role + ')';
  show('login', false);
  show('logout', true);
  show('overview', true);
  show('held-section', true);
  show('failed-section', true);
  say('');
  return refresh();
}

function loggedOut() {
  state.csrf = null;
  state.role = null;
  $('who').textContent = '';
  show('login', true);
  show('logout', false);
  show('overview', false);
  show('held-section', false);
  show('failed-section', false);
}

async function start() {
  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const session = await api('POST', '/v1/session', { token: $('token').value });
      $('token').value = '';
      await loggedIn(session);
    } catch (e) {
      say('log in: ' + e.message);
    }
  });
  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/v1/session/logout', {}); } catch (e) { /* already gone */ }
    loggedOut();
  });
  try {
    await loggedIn(await api('GET', '/v1/session'));
  } catch (e) {
    loggedOut();
  }
  setInterval(() => { if (state.csrf) refresh(); }, 5000);
}

document.addEventListener('DOMContentLoaded', start);
