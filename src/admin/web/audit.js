// The audit (#/audit): search by worker, action, actor and time range, newest first on screen,
// a page at a time counted from the newest match (GET /v1/audit?offset=…).
'use strict';

const auditPage = { offset: 0, limit: 50, matched: 0 };

async function loadAudit() {
  const params = {
    worker_id: $('audit-worker').value.trim(), action: $('audit-action').value.trim(),
    actor: $('audit-actor').value.trim(), since: $('audit-since').value.trim(),
    until: $('audit-until').value.trim(), offset: auditPage.offset, limit: auditPage.limit,
  };
  const found = await api('GET', '/v1/audit' + query(params));
  auditPage.matched = found.matched;
  const records = found.records.slice().reverse();  // newest first on screen
  $('audit-summary').textContent = found.matched === 0
    ? 'No audit record matches.'
    : 'Showing ' + records.length + ' of ' + found.matched + ' matching record(s), ' +
      (auditPage.offset ? auditPage.offset + ' newer ones skipped.' : 'newest first.');
  $('audit-rows').replaceChildren(...records.map((r) =>
    row([when(r.at), workerLink(r.worker_id), r.action, r.op_id || '', detailText(r.detail)])));
  $('audit-newer').disabled = auditPage.offset === 0;
  $('audit-older').disabled = auditPage.offset + found.records.length >= found.matched;
}

function startAuditPage() {
  const reload = () => loadAudit().catch((e) => say('audit: ' + e.message));
  $('audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    auditPage.offset = 0;
    reload();
  });
  $('audit-newer').addEventListener('click', () => {
    auditPage.offset = Math.max(0, auditPage.offset - auditPage.limit);
    reload();
  });
  $('audit-older').addEventListener('click', () => {
    auditPage.offset += auditPage.limit;
    reload();
  });
}
