// The worker page (#/worker/ID): the stored HR record and lifecycle state, the account in every
// target (what the directory confirmed, and what queued operations will make of it), why the
// policy grants each group and entitlement (GET /v1/workers/ID/explain), the worker's operations
// and the timeline of their events, operations and decisions, newest first.
'use strict';

function accountState(a) {
  if (!a || !a.exists) return a && (a.username || a.dn) ? 'deleted' : 'not created';
  return a.enabled ? 'enabled' : 'locked';
}

// What the queued operations still change: "" when planned equals applied.
function pendingChange(applied, planned) {
  const changes = [];
  if (accountState(applied) !== accountState(planned))
    changes.push(accountState(applied) + ' → ' + accountState(planned));
  const had = new Set(applied.groups || []), will = new Set(planned.groups || []);
  for (const g of will) if (!had.has(g)) changes.push('+' + g);
  for (const g of had) if (!will.has(g)) changes.push('−' + g);
  return changes.join(', ');
}

function renderAccounts(accounts) {
  $('worker-accounts').replaceChildren(...Object.entries(accounts).map(([target, a]) =>
    row([target, a.applied.username || a.planned.username, accountState(a.applied),
         a.applied.dn || a.planned.dn, (a.applied.groups || []).join(', '),
         pendingChange(a.applied, a.planned)])));
}

function renderExplain(why) {
  const rows = [];
  for (const g of why.groups || []) rows.push(row(['default target', g.name, g.granted_by]));
  for (const [target, t] of Object.entries(why.targets || {}))
    for (const g of t.groups || []) rows.push(row([target, g.name, g.granted_by]));
  for (const e of why.entitlements || [])
    rows.push(row(['entitlement', e.name, e.granted_by]));
  $('worker-grants').replaceChildren(...rows);
  const roles = why.roles || [];
  const matched = roles.filter((r) => r.matched).map((r) => r.name);
  const missed = roles.filter((r) => !r.matched)
    .map((r) => r.name + (r.failed_condition ? ' (' + r.failed_condition + ')' : ''));
  $('worker-roles').textContent = 'Roles matched: ' + (matched.join(', ') || 'none') +
    '. Not matched: ' + (missed.join('; ') || 'none') + '.';
}

function renderRecord(record) {
  const rows = [];
  for (const [key, value] of Object.entries(record || {}))
    rows.push(row([key, typeof value === 'object' ? JSON.stringify(value) : value]));
  $('worker-record').replaceChildren(...rows);
}

async function loadWorker(id) {
  $('worker-id').value = id || '';
  show('worker-body', false);
  if (!id) return;
  let w;
  try {
    w = await api('GET', '/v1/workers/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) return say('No worker ' + id + '.');
    throw e;
  }
  $('worker-head').replaceChildren(
    card('worker', w.worker_id), card('lifecycle state', w.state, w.state === 'terminated'),
    card('last HR event', w.last_event_id || '—'),
    card('effective', when(w.last_effective_at) || '—'));
  renderAccounts(w.accounts || {});
  renderRecord(w.record);
  $('worker-entitlements').replaceChildren(...(w.entitlements || []).map((e) =>
    row([e.entitlement, when(e.allocated_at), e.released_at ? when(e.released_at) : '—'],
        e.released_at ? 'attention' : '')));
  $('worker-operations').replaceChildren(...(w.operations || []).map((op) =>
    row([op.id, op.target, op.summary, op.status, when(op.created_at)],
        op.status === 'held' || op.status === 'failed' ? 'attention' : '')));
  // Newest first, as on the audit page: what happened last is what people look for.
  $('worker-timeline').replaceChildren(...(w.timeline || []).slice().reverse().map((r) =>
    row([when(r.at), r.action, r.op_id || '', detailText(r.detail)])));
  renderExplain(await api('GET', '/v1/workers/' + encodeURIComponent(id) + '/explain'));
  show('worker-body', true);
}

function startWorkerPage() {
  $('worker-form').addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = '#/worker/' + encodeURIComponent($('worker-id').value.trim());
  });
}
