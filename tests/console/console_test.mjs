// The browser half of console_browser_test.cc: drives the console in headless Chromium the way
// an approver would. Exits 0 when every check held, 1 with the failed check on stderr.
//
// Environment: CHROMIUM (the browser), CONSOLE_URL (http://127.0.0.1:PORT, the admin listener),
// TOKEN_FILE (an approver's token) and TOKEN_NAME (its name), VIEWER_TOKEN_FILE (a viewer's),
// HELD_OP (the held disable's id), WORKER_ID (the leaver), ARTIFACTS (where screenshots go).
//
// Every wait is for a condition on the page, bounded by a timeout: never a sleep.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error('missing environment variable ' + name);
  return value;
};
const base = env('CONSOLE_URL');
const token = readFileSync(env('TOKEN_FILE'), 'utf8').trim();
const tokenName = env('TOKEN_NAME');
const viewerToken = readFileSync(env('VIEWER_TOKEN_FILE'), 'utf8').trim();
const heldOp = env('HELD_OP');
const workerId = env('WORKER_ID');
const artifacts = env('ARTIFACTS');
mkdirSync(artifacts, { recursive: true });

const TIMEOUT_MS = 20000;

function check(condition, what) {
  if (!condition) throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

// What went wrong in the page: console errors and warnings, uncaught exceptions, requests that
// failed or were answered with an error. One request is expected to fail: the session probe
// before anyone logged in (GET /v1/session → 401 is how the page learns it must show the form).
const problems = [];
let loggedIn = false;
// A URL whose 422 answer the test asks for on purpose (an invalid candidate policy).
let refusalExpected = null;
const expectedRefusal = (url, status) =>
  refusalExpected !== null && url.startsWith(refusalExpected) && (status === undefined || status === 422);
function watch(page) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warn') return;
    const where = msg.location() && msg.location().url ? msg.location().url : '';
    if (!loggedIn && where.endsWith('/v1/session')) return;
    if (expectedRefusal(where)) return;
    problems.push('console ' + msg.type() + ': ' + msg.text() + (where ? ' (' + where + ')' : ''));
  });
  page.on('pageerror', (error) => problems.push('page error: ' + error.message));
  page.on('requestfailed', (request) =>
    problems.push('request failed: ' + request.url() + ' ' +
                  (request.failure() ? request.failure().errorText : '')));
  page.on('response', (response) => {
    if (response.status() < 400) return;
    if (!loggedIn && response.url() === base + '/v1/session' && response.status() === 401) return;
    if (expectedRefusal(response.url(), response.status())) return;
    problems.push('HTTP ' + response.status() + ': ' + response.request().method() + ' ' +
                  response.url());
  });
}

// The CSP the daemon sends with the console's files: nothing may come from elsewhere, nothing
// inline may run.
function checkCsp(headers) {
  const csp = headers['content-security-policy'] || '';
  check(csp !== '', 'the console page carries a Content-Security-Policy header');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean)
    .map((d) => { const [name, ...values] = d.split(/\s+/); return [name, values.join(' ')]; }));
  check(directives['default-src'] === "'none'", "CSP default-src is 'none'");
  check(directives['script-src'] === "'self'", "CSP script-src is 'self' only");
  check(directives['frame-ancestors'] === "'none'", "CSP frame-ancestors is 'none'");
  check(!/unsafe-inline|unsafe-eval|\*/.test(csp), 'CSP allows no inline code, eval or wildcard');
  check(headers['x-frame-options'] === 'DENY', 'X-Frame-Options is DENY');
  check(headers['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options is nosniff');
}

async function waitForPage(page, name) {
  await page.waitForSelector('body[data-loaded="' + name + '"]', { timeout: TIMEOUT_MS });
}

async function goTo(page, name) {
  await page.evaluate(() => { delete document.body.dataset.loaded; });
  await page.click('#nav a[data-page="' + name + '"]');
  await waitForPage(page, name);
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: env('CHROMIUM'),
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.setViewport({ width: 1280, height: 800 });
    watch(page);

    const response = await page.goto(base + '/console/', { waitUntil: 'domcontentloaded' });
    check(response.status() === 200, 'GET /console/ answers 200');
    checkCsp(response.headers());
    check(!(await page.$('script:not([src])')), 'the page has no inline script');

    // Log in with the token.
    await page.waitForSelector('#login:not([hidden])');
    await page.type('#token', token);
    loggedIn = true;
    await page.click('#login-form button[type="submit"]');
    await waitForPage(page, 'overview');
    const who = await page.$eval('#who', (el) => el.textContent);
    check(who.includes('token:' + tokenName) && who.includes('approver'),
          'logged in as token:' + tokenName + ' (approver): ' + who);
    await page.waitForFunction(
      () => [...document.querySelectorAll('#counts .card')].some((c) =>
        c.querySelector('.label').textContent === 'held' &&
        Number(c.querySelector('.value').textContent) >= 1));
    check(true, 'the overview counts the held operations');

    // The session cookie: HttpOnly (no script reads it), SameSite=Strict.
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === 'prov_session');
    check(session && session.httpOnly && session.sameSite === 'Strict',
          'the session cookie is HttpOnly and SameSite=Strict');
    check(await page.evaluate(() => !document.cookie.includes('prov_session')),
          'scripts cannot read the session cookie');

    // The held page shows the termination; an approver approves it.
    await goTo(page, 'held');
    const button = 'button.approve[data-op="' + heldOp + '"]';
    await page.waitForSelector(button);
    const heldRow = await page.$eval(button, (b) => b.closest('tr').textContent);
    check(heldRow.includes(workerId), 'the held page lists operation ' + heldOp + ' of ' + workerId);

    // A state change with the session cookie but without the CSRF token is refused. Sent from
    // outside the page, as another site's form would: the cookie, no X-CSRF-Token.
    const forged = await fetch(base + '/v1/held/approve', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: 'prov_session=' + session.value },
      body: JSON.stringify({ ids: [Number(heldOp)] }),
    });
    const forgedBody = await forged.json();
    check(forged.status === 403 && forgedBody.field === 'x-csrf-token',
          'approve with the session cookie and no CSRF token → 403 (field x-csrf-token)');

    await page.click(button);
    await page.waitForFunction(
      (op) => document.getElementById('message').textContent.startsWith('approved operation ' + op),
      {}, heldOp);
    const said = await page.$eval('#message', (el) => el.textContent);
    check(said.includes('token:' + tokenName), 'the console confirms the approval: ' + said);
    await page.waitForFunction(
      (sel) => !document.querySelector(sel), {}, button);
    check(true, 'the approved operation left the held page');

    // The worker page: the leaver's account becomes locked, and the timeline has the approval.
    await page.evaluate(() => { delete document.body.dataset.loaded; });
    await page.evaluate((id) => { location.hash = '#/worker/' + id; }, workerId);
    await waitForPage(page, 'worker');
    await page.waitForSelector('#worker-body:not([hidden])');
    // The account shows as locked once the executor ran the approved disable; the page is
    // loaded again until then (the worker page does not refresh by itself).
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      // The account column of the directory's row (the pending-change column may say
      // "enabled → locked" before the lock has run).
      const account = await page.$eval('#worker-accounts tr td:nth-child(3)', (el) => el.textContent);
      if (account === 'locked') break;
      if (Date.now() > deadline) throw new Error('the worker page never showed the account locked');
      await page.evaluate(() => { delete document.body.dataset.loaded; });
      await page.evaluate(() => window.dispatchEvent(new HashChangeEvent('hashchange')));
      await waitForPage(page, 'worker');
    }
    check(true, 'the worker page shows the account locked');
    const timeline = await page.$eval('#worker-timeline', (el) => el.textContent);
    check(timeline.includes('op.approved') && timeline.includes('token:' + tokenName),
          'the timeline shows the approval with the token name');
    const grants = await page.$eval('#worker-grants', (el) => el.textContent);
    check(grants.includes('finance') && grants.includes('license:erp'),
          'the worker page explains the grants, the finance role\'s licence included');
    const entitlements = await page.$eval('#worker-entitlements', (el) => el.textContent);
    check(entitlements.includes('license:erp'), 'the worker page lists the entitlement');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(artifacts, 'console-worker.png') });
    await page.screenshot({ path: join(artifacts, 'console-worker-full.png'), fullPage: true });
    console.log('saved ' + join(artifacts, 'console-worker.png'));

    // The access report and the audit search.
    await goTo(page, 'access');
    await page.click('#access-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#access-rows tr').length > 0);
    check(true, 'the access report lists memberships');
    await page.waitForFunction((id) => [...document.querySelectorAll('#retrieve-rows tr')]
      .some((tr) => tr.textContent.includes(id) && tr.textContent.includes('license:erp')), {}, workerId);
    check(true, "the leaver's ERP licence is on the list of entitlements to retrieve");
    await page.screenshot({ path: join(artifacts, 'console-access.png') });
    await goTo(page, 'audit');
    await page.type('#audit-action', 'op.approved');
    await page.click('#audit-form button[type="submit"]');
    await page.waitForFunction(
      (name) => document.getElementById('audit-rows').textContent.includes('token:' + name),
      {}, tokenName);
    check(true, 'the audit search finds the approval by action');
    await page.screenshot({ path: join(artifacts, 'console-audit.png') });

    // Back on the overview: the rates come from /metrics, events/s from two samples, so it shows
    // a number from the second refresh on (every five seconds); the lock-out latency now
    // includes the approved disable.
    await goTo(page, 'overview');
    const cardValue = (label) => page.evaluate((l) => {
      const c = [...document.querySelectorAll('#counts .card')]
        .find((x) => x.querySelector('.label').textContent === l);
      return c ? c.querySelector('.value').textContent : null;
    }, label);
    await page.waitForFunction(() => [...document.querySelectorAll('#counts .card')].some((c) =>
      c.querySelector('.label').textContent === 'events/s' &&
      /^[0-9.]+$/.test(c.querySelector('.value').textContent)), { timeout: TIMEOUT_MS });
    const lockout = await cardValue('lock-out p99');
    check(/^≤ [0-9.]+ (ms|s)$/.test(lockout), 'the overview shows the lock-out p99: ' + lockout);
    await page.screenshot({ path: join(artifacts, 'console-overview.png') });
    console.log('saved ' + join(artifacts, 'console-overview.png'));

    // On a phone: the overview fits the screen's width (wide tables scroll in their own box).
    // Only the width: isMobile would make puppeteer reload the page.
    await page.setViewport({ width: 390, height: 844 });
    await goTo(page, 'audit');
    await goTo(page, 'overview');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(overflow <= 0, 'at 390 px wide the page needs no sideways scrolling (' + overflow + ')');
    await page.screenshot({ path: join(artifacts, 'console-phone.png') });

    // Log out: the session ends at once, its cookie no longer works.
    await page.setViewport({ width: 1280, height: 800 });
    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    const stale = await fetch(base + '/v1/status', { headers: { Cookie: 'prov_session=' + session.value } });
    check(stale.status === 401, 'after logging out the old session cookie is refused (401)');

    // A viewer sees the held operation without buttons, and the daemon refuses the decision
    // even when a viewer's session sends it with its CSRF token.
    await page.type('#token', viewerToken);
    await page.click('#login-form button[type="submit"]');
    await waitForPage(page, 'overview');
    check((await page.$eval('#who', (el) => el.textContent)).includes('(viewer)'),
          'logged in again as a viewer');
    check(await page.$eval('#reconcile-panel', (el) => el.hidden), 'a viewer gets no reconcile panel');
    await goTo(page, 'held');
    await page.waitForFunction(() => document.querySelectorAll('#held tr').length > 0);
    check(!(await page.$('#held button')), 'a viewer gets no approve or reject buttons');
    const viewerCookie = (await browser.cookies()).find((c) => c.name === 'prov_session');
    const viewerCsrf = await page.evaluate(() => state.csrf);
    for (const path of ['/v1/held/approve', '/v1/held/reject', '/v1/failed/retry', '/v1/reconcile']) {
      const refused = await fetch(base + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': viewerCsrf,
                   Cookie: 'prov_session=' + viewerCookie.value },
        body: JSON.stringify(path === '/v1/reconcile' ? {} : { all: true }),
      });
      check(refused.status === 403, 'a viewer\'s ' + path + ' → 403');
    }

    // What if: the viewer pastes a candidate (the example policy, everyone also in `everyone`)
    // and sees what deploying it would do, without anything being deployed.
    const example = readFileSync(new URL('../../policies/example.yaml', import.meta.url), 'utf8');
    check(example.includes('groups: [staff]'), 'the example policy grants staff');
    await goTo(page, 'whatif');
    await page.$eval('#whatif-text', (el, text) => { el.value = text; },
                     example.replace('groups: [staff]', 'groups: [staff, everyone]'));
    await page.click('#whatif-form button[type="submit"]');
    await page.waitForSelector('#whatif-result:not([hidden])');
    const whatIfSummary = await page.$eval('#whatif-summary', (el) => el.textContent);
    check(/group adds [1-9]/.test(whatIfSummary) && whatIfSummary.includes('people affected'),
          'the what-if page summarises the candidate: ' + whatIfSummary);
    const diff = await page.$eval('#whatif-rows', (el) => el.textContent);
    check(diff.includes('add_member everyone'), 'the what-if page lists the per-worker diff');
    await page.screenshot({ path: join(artifacts, 'console-whatif.png') });
    // A candidate the loader refuses: every problem shown as file:line:column.
    refusalExpected = base + '/v1/plan';
    await page.$eval('#whatif-text', (el, text) => { el.value = text; },
                     example.replace('groups: [staff]', 'gruops: [staff]'));
    await page.click('#whatif-form button[type="submit"]');
    await page.waitForSelector('#whatif-errors:not([hidden]) li');
    const refused = await page.$eval('#whatif-errors', (el) => el.textContent);
    check(/policy\.yaml:\d+:\d+: error: /.test(refused),
          'the what-if page shows an invalid candidate\'s problems as file:line:column: ' + refused);
    check(await page.$eval('#whatif-result', (el) => el.hidden), 'and no plan for it');
    refusalExpected = null;

    check(problems.length === 0,
          'no console errors or failed requests' + (problems.length ? ':\n  ' + problems.join('\n  ') : ''));
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
