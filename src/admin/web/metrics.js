// The overview's rates and latencies, from the daemon's own /metrics (Prometheus text, open
// on the admin listener): events received per second between two refreshes, the lock-out
// latency (HR event received → disable applied in the directory) as a p99 bucket bound, and
// the share of operations that did not succeed, per target. The metrics are the source of
// truth for monitoring; the console only reads them, so both always agree.
'use strict';

// [{name, labels, value}] from the Prometheus text format (comments skipped).
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const pair of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]] = pair[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function sumOf(samples, name, match) {
  return samples.filter((s) => s.name === name && (!match || match(s.labels)))
    .reduce((total, s) => total + s.value, 0);
}

// The smallest bucket bound below which 99% of the observations fell ({le}); {over: largest
// bound} when more than 1% fell beyond every bound; null without any observation.
function p99(samples, name, match) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== name + '_bucket' || (match && !match(s.labels))) continue;
    buckets.set(s.labels.le, (buckets.get(s.labels.le) || 0) + s.value);
  }
  const total = buckets.get('+Inf') || 0;
  if (total === 0) return null;
  const bounds = [...buckets.keys()].filter((le) => le !== '+Inf').map(Number)
    .sort((a, b) => a - b);
  for (const le of bounds) if (buckets.get(String(le)) >= 0.99 * total) return { le };
  return { over: bounds[bounds.length - 1] };
}

function duration(s) { return s < 1 ? Math.round(s * 1000) + ' ms' : s + ' s'; }

function seconds(bound) {
  if (bound === null) return '—';
  return bound.over !== undefined ? '> ' + duration(bound.over) : '≤ ' + duration(bound.le);
}

function percent(part, whole) {
  return whole === 0 ? '—' : (100 * part / whole).toFixed(part === 0 ? 0 : 1) + ' %';
}

const lastSample = { at: null, events: 0 };

// {cards: [card, …], targets: {name: {lockout, errors}}} for the overview.
async function loadRates() {
  const response = await fetch('/metrics', { credentials: 'same-origin' });
  if (!response.ok) throw new Error('/metrics: HTTP ' + response.status);
  const samples = parseMetrics(await response.text());
  const now = Date.now();
  const events = sumOf(samples, 'provisiond_events_received_total');
  const rate = lastSample.at === null
    ? null : (events - lastSample.events) / ((now - lastSample.at) / 1000);
  lastSample.at = now;
  lastSample.events = events;
  const lockout = (target) => p99(samples, 'provisiond_event_to_directory_seconds',
    (l) => l.kind === 'disable' && (!target || l.target === target));
  const ops = (target, failed) => sumOf(samples, 'provisiond_operations_total',
    (l) => (!target || l.target === target) && (!failed || l.outcome !== 'ok'));
  const targets = {};
  for (const s of samples)
    if (s.name === 'provisiond_operations_total' && s.labels.target)
      targets[s.labels.target] = {
        lockout: seconds(lockout(s.labels.target)),
        errors: percent(ops(s.labels.target, true), ops(s.labels.target, false)),
      };
  return {
    cards: [
      card('events/s', rate === null ? '…' : rate.toFixed(rate < 10 ? 1 : 0)),
      card('lock-out p99', seconds(lockout(null))),
      card('operations not ok', percent(ops(null, true), ops(null, false)), ops(null, true) > 0),
    ],
    targets,
  };
}
