// What every page of the console shares: the API call (with the session's CSRF token on every
// state change) and small builders that put data on the page through textContent only — never
// as HTML, so nothing a worker record or an audit row holds can run as script.
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
    error.field = json && json.field;
    error.body = json;  // e.g. a refused candidate policy's diagnostics
    throw error;
  }
  return json;
}

// A query string from the non-empty values of `params`.
function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== '' && value !== undefined && value !== null) q.set(key, String(value));
  const text = q.toString();
  return text ? '?' + text : '';
}

function cell(row, content, className) {
  const td = document.createElement('td');
  if (content instanceof Node) td.appendChild(content);
  else td.textContent = content === undefined || content === null ? '' : String(content);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function row(cells, className) {
  const tr = document.createElement('tr');
  for (const c of cells) cell(tr, c);
  if (className) tr.className = className;
  return tr;
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

// A link to the worker page of `id`.
function workerLink(id) {
  if (!id) return '';
  const a = document.createElement('a');
  a.href = '#/worker/' + encodeURIComponent(id);
  a.textContent = id;
  return a;
}

// An audit row's detail in one line: who, what, then the rest as key=value. An operation's own
// JSON is left out when its summary says the same in words.
function detailText(detail) {
  if (!detail || typeof detail !== 'object') return detail === undefined ? '' : String(detail);
  const parts = [];
  if (detail.actor) parts.push('by ' + detail.actor);
  if (detail.summary) parts.push(detail.summary);
  else if (detail.op && detail.op.kind)
    parts.push([detail.op.kind, detail.op.username, detail.op.group || detail.op.ou]
      .filter(Boolean).join(' '));
  for (const [k, v] of Object.entries(detail)) {
    if (k === 'actor' || k === 'summary' || (k === 'op' && (detail.summary || v.kind))) continue;
    parts.push(k + '=' + (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
  return parts.join(' · ');
}

// An RFC 3339 time as people read it: "2026-11-30 01:52:44Z".
function when(text) {
  return text ? String(text).replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

function canDecide() { return state.role === 'approver' || state.role === 'admin'; }
