// The console: a token logs in (POST /v1/session), the daemon answers with an HttpOnly session
// cookie and a CSRF token this page sends with every state change. Everything shown comes from
// the admin API (docs/admin-api.md); nothing is inline, as the Content-Security-Policy demands.
// Pages are addressed by the URL's fragment (#/held, #/worker/100234), so a page can be
// bookmarked and the back button works, without a request the daemon would have to route.
'use strict';

async function loadOverview() {
  const [status, queues, reconciles, rates] = await Promise.all([
    api('GET', '/v1/status'), api('GET', '/v1/queues'),
    api('GET', '/v1/audit?action=reconcile.run&limit=1'), loadRates()]);
  const last = reconciles.records[0];
  $('counts').replaceChildren(
    ...rates.cards,
    card('workers', status.workers), card('accounts', status.accounts),
    card('inbox pending', status.inbox_pending), card('operations pending', status.ops_pending),
    card('held', status.ops_held, status.ops_held > 0),
    card('failed', status.ops_failed, status.ops_failed > 0),
    card('scheduled', status.schedule_pending), card('audit records', status.audit_records),
    card('last reconcile', last ? when(last.at) : 'never'));
  $('queues').replaceChildren(...Object.entries(queues.targets).map(([name, q]) => {
    const r = rates.targets[name] || { lockout: '—', errors: '—' };
    return row([name, q.pending, q.held, q.failed, r.lockout, r.errors],
               q.held > 0 || q.failed > 0 ? 'attention' : '');
  }));
  show('reconcile-panel', state.role === 'admin');
}

async function reconcileNow(apply) {
  $('reconcile-result').textContent = 'Comparing…';
  try {
    const r = await api('POST', '/v1/reconcile', { apply });
    $('reconcile-result').textContent = r.compared + ' account(s) compared, ' + r.drifted +
      ' drifted, ' + r.unmanaged + ' unmanaged, ' + r.in_flight + ' skipped (in flight)' +
      (apply ? '; ' + r.handed_to_engine + ' worker(s) handed to the engine.' : '.');
  } catch (e) {
    $('reconcile-result').textContent = 'reconcile: ' + e.message;
  }
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

// One table row per operation: id, worker, target, summary, the extra cells, then a button per
// verb the caller's role allows.
function operationRow(op, extra, verbs) {
  const tr = row([op.id, workerLink(op.worker_id), op.target, op.summary, ...extra]);
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

// The pages, by the fragment's first part; `live` ones are refreshed every five seconds.
const pages = {
  overview: { load: loadOverview, live: true },
  held: { load: loadHeld, live: true },
  failed: { load: loadFailed, live: true },
  worker: { load: (id) => loadWorker(id), live: false },
  access: { load: loadAccessPage, live: false },
  audit: { load: loadAudit, live: false },
  whatif: { load: loadWhatIf, live: false },
};

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = pages[parts[0]] ? parts[0] : 'overview';
  let arg = parts.slice(1).join('/');
  try { arg = decodeURIComponent(arg); } catch (e) { /* a hand-typed '%': take it as it is */ }
  return { name, arg };
}

async function refresh(firstVisit) {
  const { name, arg } = route();
  if (!firstVisit && !pages[name].live) return;
  for (const page of Object.keys(pages)) show('page-' + page, page === name);
  for (const link of document.querySelectorAll('#nav a'))
    link.classList.toggle('current', link.dataset.page === name);
  try {
    await pages[name].load(arg);
    document.body.dataset.loaded = name;  // for people's scripts and the browser test
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
  show('nav', true);
  say('');
  return refresh(true);
}

function loggedOut() {
  state.csrf = null;
  state.role = null;
  $('who').textContent = '';
  show('login', true);
  show('logout', false);
  show('nav', false);
  for (const page of Object.keys(pages)) show('page-' + page, false);
  delete document.body.dataset.loaded;
}

async function start() {
  startWorkerPage();
  startAccessPage();
  startAuditPage();
  startWhatIfPage();
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
  $('reconcile-check').addEventListener('click', () => reconcileNow(false));
  $('reconcile-apply').addEventListener('click', () => reconcileNow(true));
  window.addEventListener('hashchange', () => {
    say('');
    if (state.csrf) refresh(true);
  });
  // A reload finds its session again by the cookie; 401 (no session) is the login form. The
  // failed request shows in the browser's console as a 401, which is expected here.
  try {
    await loggedIn(await api('GET', '/v1/session'));
  } catch (e) {
    loggedOut();
  }
  setInterval(() => { if (state.csrf) refresh(false); }, 5000);
}

document.addEventListener('DOMContentLoaded', start);
