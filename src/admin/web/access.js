// The access report (#/access): every membership per target with the role that grants it,
// filtered by group, worker or target, a page at a time (GET /v1/report/access); and what
// leavers and movers released, to retrieve (GET /v1/report/retrieve).
'use strict';

const accessPage = { offset: 0, limit: 100, next: null };

async function loadAccess() {
  const params = {
    group: $('access-group').value.trim(), worker: $('access-worker').value.trim(),
    target: $('access-target').value.trim(), offset: accessPage.offset, limit: accessPage.limit,
  };
  const report = await api('GET', '/v1/report/access' + query(params));
  accessPage.next = report.next_offset === undefined ? null : report.next_offset;
  const last = report.offset + report.rows.length;
  $('access-summary').textContent = report.total === 0
    ? 'No membership matches.'
    : 'Rows ' + (report.offset + 1) + '–' + last + ' of ' + report.total + '; ' +
      report.ungranted + ' not granted by any role.';
  $('access-rows').replaceChildren(...report.rows.map((r) => {
    const tr = row([r.target, workerLink(r.worker_id), r.username, r.worker_state, r.account,
                    r.group, r.granted_by || '—', r.status]);
    tr.className = 'status-' + r.status;
    return tr;
  }));
  $('access-prev').disabled = report.offset === 0;
  $('access-next').disabled = accessPage.next === null;
}

async function loadRetrieve() {
  const found = await api('GET', '/v1/report/retrieve' + query({ since: $('retrieve-since').value.trim() }));
  $('retrieve-summary').textContent = found.matched === 0
    ? 'Nothing to retrieve.'
    : found.matched + ' entitlement(s) to retrieve' +
      (found.matched > found.entitlements.length ? ', the first ' + found.entitlements.length + ' shown.' : '.');
  $('retrieve-rows').replaceChildren(...found.entitlements.map((e) =>
    row([workerLink(e.worker_id), e.entitlement, when(e.allocated_at), when(e.released_at)])));
}

async function loadAccessPage() {
  await Promise.all([loadAccess(), loadRetrieve()]);
}

function startAccessPage() {
  $('retrieve-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadRetrieve().catch((e) => say('entitlements to retrieve: ' + e.message));
  });
  $('access-form').addEventListener('submit', (event) => {
    event.preventDefault();
    accessPage.offset = 0;
    loadAccess().catch((e) => say('access report: ' + e.message));
  });
  $('access-prev').addEventListener('click', () => {
    accessPage.offset = Math.max(0, accessPage.offset - accessPage.limit);
    loadAccess().catch((e) => say('access report: ' + e.message));
  });
  $('access-next').addEventListener('click', () => {
    if (accessPage.next === null) return;
    accessPage.offset = accessPage.next;
    loadAccess().catch((e) => say('access report: ' + e.message));
  });
}
