// What if (#/whatif): a candidate policy, pasted or chosen as files, planned against every
// stored worker without deploying it (POST /v1/plan). The summary says what a deploy would do
// and whether the brake would hold it; the per-worker diff comes a page at a time; a policy the
// loader refuses shows each problem as file:line:column.
'use strict';

const whatIf = { files: null, offset: 0, limit: 100, next: null };

// The candidate as the API takes it: {"files": {"name.yaml": "…"}}. Chosen files win over the
// text box; pasted text is one file, policy.yaml.
async function candidateFiles() {
  const chosen = Array.from($('whatif-files').files || []);
  const files = {};
  if (chosen.length > 0) {
    for (const f of chosen) files[f.name] = await f.text();
  } else {
    files['policy.yaml'] = $('whatif-text').value;
  }
  return files;
}

function showDiagnostics(diagnostics) {
  $('whatif-errors').replaceChildren(...diagnostics.map((d) => {
    const li = document.createElement('li');
    li.textContent = d.text || (d.file + ':' + d.line + ':' + d.column + ': ' + d.message);
    return li;
  }));
  show('whatif-errors', diagnostics.length > 0);
}

function showSummary(s) {
  $('whatif-summary').textContent = s.text;
  $('whatif-summary').className = s.brake_would_hold ? 'attention' : '';
  $('whatif-counts').replaceChildren(
    card('creates', s.creates), card('locks', s.locks, s.locks > 0),
    card('group additions', s.group_additions),
    card('group removals', s.group_removals, s.group_removals > 0),
    card('moves', s.moves), card('deletes', s.deletes, s.deletes > 0),
    card('people affected', s.people_affected, s.people_affected > 0),
    card('the brake would hold it', s.brake_would_hold ? 'yes' : 'no', s.brake_would_hold));
}

async function planCandidate() {
  const answer = await api('POST', '/v1/plan' + query({ offset: whatIf.offset, limit: whatIf.limit }),
                           { files: whatIf.files });
  showDiagnostics([]);
  showSummary(answer.summary);
  whatIf.next = answer.next_offset === undefined ? null : answer.next_offset;
  const rows = [];
  for (const w of answer.workers) {
    if (w.held) rows.push(row([workerLink(w.worker_id), w.state, '', 'held: ' + w.held], 'attention'));
    for (const op of w.operations)
      rows.push(row([workerLink(w.worker_id), w.state, op.target, op.summary]));
  }
  $('whatif-rows').replaceChildren(...rows);
  $('whatif-page').textContent = answer.total === 0
    ? 'No worker would change.'
    : 'Workers ' + (answer.offset + 1) + '–' + (answer.offset + answer.workers.length) + ' of ' +
      answer.total + ' with a change.';
  show('whatif-result', true);
  $('whatif-prev').disabled = answer.offset === 0;
  $('whatif-next').disabled = whatIf.next === null;
}

async function runWhatIf() {
  try {
    await planCandidate();
  } catch (e) {
    show('whatif-result', false);
    showDiagnostics((e.body && e.body.diagnostics) || []);
    say('what if: ' + e.message);
  }
}

// Nothing to fetch on arrival: the page waits for a candidate.
async function loadWhatIf() {}

function startWhatIfPage() {
  $('whatif-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    say('');
    whatIf.files = await candidateFiles();
    whatIf.offset = 0;
    $('whatif-summary').textContent = 'Planning every worker…';
    await runWhatIf();
  });
  $('whatif-prev').addEventListener('click', () => {
    whatIf.offset = Math.max(0, whatIf.offset - whatIf.limit);
    runWhatIf();
  });
  $('whatif-next').addEventListener('click', () => {
    if (whatIf.next === null) return;
    whatIf.offset = whatIf.next;
    runWhatIf();
  });
}
