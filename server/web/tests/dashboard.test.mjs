// The dashboard in a real browser (headless Chromium through playwright-core) against a real
// `mapframe demo` server:
//
//   node server/web/tests/dashboard.test.mjs <base-url> <user> <password> <screenshot-dir>
//
// Run by `cargo test` (tests/tests/e2e/dashboard.rs). Checks that the map shows as many
// dwellings of each status as the coverage GeoJSON has, that approving and returning interviews
// changes the coverage numbers, that a conflict can be resolved, that no request leaves the
// server and that the page raises no error. Exits 1 with the failures listed; screenshots of
// every view are saved either way. CHROMIUM overrides the browser's path.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, user, password, shots = 'dashboard-screenshots'] = process.argv.slice(2);
if (!base || !user || !password) {
  console.error('usage: dashboard.test.mjs <base-url> <user> <password> [screenshot-dir]');
  process.exit(2);
}
const baseUrl = new URL(base);
fs.mkdirSync(shots, { recursive: true });

const failures = [];
const check = (ok, message) => {
  if (ok) console.log(`ok   ${message}`);
  else {
    console.log(`FAIL ${message}`);
    failures.push(message);
  }
};

// The server, directly (for the expected numbers).
let token = null;
async function http(method, p, body) {
  const res = await fetch(new URL(p, baseUrl), {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const list = (x) => (Array.isArray(x) ? x : (x && x.items) || []);

function statusCounts(geojson) {
  const counts = {};
  for (const f of geojson.features || []) {
    const p = f.properties || {};
    if (p.layer !== 'dwelling' || !f.geometry || f.geometry.type !== 'Point') continue;
    counts[p.status] = (counts[p.status] || 0) + 1;
  }
  return counts;
}

// Requests the page may see fail on purpose (the demo's sample is multi-stage: its reserve
// answers 409).
// Names of accounts are looked up one by one and may be out of reach.
const EXPECTED_FAILURES = [/\/reserve(\/|$)/, /\/api\/v1\/users\//];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Containers and CI run as root, where Chromium's sandbox cannot start. The rest keeps the
  // browser from reaching for Google's services (refused on a closed network, and slow to be
  // refused) and from a GPU process a loaded CI machine may not start in time.
  args: [
    '--no-sandbox',
    '--disable-dev-shm-usage',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const pageErrors = [];
const external = [];
let step = 'start';
try {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    acceptDownloads: true,
  });
  // Nothing may leave the server: every request to another host is recorded and refused.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '127.0.0.1') {
      external.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`[${step}] page error: ${e.message}`));
  page.on('crash', () => {
    failures.push(`[${step}] the page crashed`);
    console.log(`FAIL [${step}] the page crashed`);
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = (msg.location() && msg.location().url) || '';
    if (EXPECTED_FAILURES.some((re) => re.test(where))) return;
    pageErrors.push(`[${step}] console error: ${msg.text()} ${where}`);
  });
  // Screenshots are for people to look at; one that cannot be taken (a loaded machine) is
  // reported, not counted as a failed check.
  const shot = (name) =>
    page
      .screenshot({ path: path.join(shots, `${name}.png`), fullPage: true, timeout: 20000 })
      .catch((e) => console.log(`note [${step}] no screenshot ${name}: ${e.message.split('\n')[0]}`));
  // A section that fails is recorded and the next one still runs, so one run reports every
  // problem.
  const section = async (name, body) => {
    step = name;
    try {
      await body();
    } catch (e) {
      failures.push(`[${name}] ${e.message}`);
      console.log(`FAIL [${name}] ${e.message.split('\n')[0]}`);
      await shot(`fail-${name}`);
    }
  };

  // Sign in.
  step = 'sign-in';
  await page.goto(new URL('/', baseUrl).href);
  await page.waitForSelector('[data-testid=login-form]');
  await shot('01-sign-in');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('[data-testid=login-form] button[type=submit]');
  await page.waitForSelector('.project-list');
  token = await page.evaluate(() => sessionStorage.getItem('mapframe.token'));
  check(Boolean(token), 'signing in keeps a token in sessionStorage');

  // The project.
  step = 'projects';
  const projects = list(await http('GET', '/api/v1/projects'));
  const project = projects.find((p) => p.code === 'demo') || projects[0];
  check(Boolean(project), 'there is a project');
  await shot('02-projects');
  await page.click(`[data-testid="project-${project.code}"]`);
  await page.waitForSelector('[data-testid=totals]');
  const coverage0 = await http('GET', `/api/v1/projects/${project.id}/coverage`);
  const shownCompleted = await page.textContent('[data-stat=completed] .value');
  check(
    shownCompleted.replace(/\D/g, '') === String(coverage0.total.completed),
    `overview shows ${coverage0.total.completed} completed (shown: ${shownCompleted})`,
  );
  const areaRows = await page.locator('[data-testid=areas] tbody tr').count();
  check(areaRows === (coverage0.areas || []).length, `overview lists every area (${areaRows})`);
  await shot('03-overview');

  // The map: as many dwellings of each status as the coverage GeoJSON.
  await section('map', async () => {
    await page.click('[data-testid=tab-map]');
    await page.waitForSelector('[data-testid=legend] li[data-status]');
    const geojson = await http('GET', `/api/v1/projects/${project.id}/coverage.geojson`);
    const expected = statusCounts(geojson);
    const shown = await page.evaluate(() => {
      const out = {};
      for (const el of document.querySelectorAll('[data-testid=map] path.dw')) {
        const s = [...el.classList].find((c) => c.startsWith('dw-'));
        if (s) out[s.slice(3)] = (out[s.slice(3)] || 0) + 1;
      }
      return out;
    });
    const legend = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('[data-testid=legend] li[data-status]')].map((li) => [
          li.dataset.status,
          Number(li.dataset.count),
        ]),
      ),
    );
    for (const s of new Set([...Object.keys(expected), ...Object.keys(shown)])) {
      check((shown[s] || 0) === (expected[s] || 0), `map shows ${expected[s] || 0} ${s} dwellings (drawn: ${shown[s] || 0})`);
      check((legend[s] || 0) === (expected[s] || 0), `legend counts ${expected[s] || 0} ${s} (says: ${legend[s] || 0})`);
    }
    check(Object.keys(expected).length >= 4, `the demo has dwellings in several statuses (${Object.keys(expected)})`);
    await shot('04-map');
    // A dwelling's details and history: a completed one when there is one, else any sampled.
    const pick = ['completed', 'refused', 'non_contact', 'visited', 'assigned', 'sampled'].find((s) => expected[s] > 0);
    if (pick) {
      // Dispatched on the marker itself: a click at its position could land on a neighbour.
    await page.locator(`[data-testid=map] path.dw-${pick}`).first().dispatchEvent('click');
      await page.waitForSelector('[data-testid=dwelling-detail]:not([hidden]) .cases .case, [data-testid=dwelling-detail]:not([hidden]) .cases .empty, [data-testid=dwelling-detail]:not([hidden]) .cases .notice.error');
      const detail = await page.textContent('[data-testid=dwelling-detail] [data-testid=dwelling-status]');
      const word = pick.replace('_', '-');
      check(new RegExp(word, 'i').test(detail), `clicking a ${pick} dwelling shows its status (${detail.trim()})`);
      check((await page.locator('[data-testid=dwelling-detail] .case').count()) > 0, 'the dwelling shows its interview');
      await shot('05-dwelling');
    } else {
      check(false, 'a sampled dwelling is on the map');
    }
  });

  // Interviewers and flags.
  await section('interviewers', async () => {
    await page.click('[data-testid=tab-interviewers]');
    await page.waitForSelector('[data-testid=interviewers]');
    const rows = await page.locator('[data-testid=interviewers] tbody tr').count();
    check(rows === (coverage0.interviewers || []).length, `interviewer table has ${rows} rows`);
    await shot('06-interviewers');
  });

  // Review: approve one, return one; the coverage numbers move.
  await section('review', async () => {
    await page.click('[data-testid=tab-review]');
    await page.waitForSelector('[data-testid=review-submitted] tr[data-id], [data-testid=review-submitted] .notice');
    const submitted0 = list(await http('GET', `/api/v1/projects/${project.id}/interviews?status=submitted`));
    check(submitted0.length >= 2, `at least two interviews await review (${submitted0.length})`);
    await shot('07-review');
    const approvedBefore = list(await http('GET', `/api/v1/projects/${project.id}/interviews?status=approved`)).length;
    if (submitted0.length >= 2) {
      // Approve the first row without conflicts.
      const row = page.locator('[data-testid=review-submitted] tr[data-id][data-conflicts="0"]').first();
      const approvedId = await row.getAttribute('data-id');
      await row.locator('[data-action=approve]').click();
      await page.waitForSelector('.form-status .notice.ok, .form-status .notice.error');
      const statusText = await page.textContent('.form-status');
      check(/Approved/.test(statusText), `approving says so (${statusText.trim()})`);
      await page.waitForFunction(
        (id) => !document.querySelector(`[data-testid=review-submitted] tr[data-id="${id}"]`),
        approvedId,
      );
      const approvedAfter = list(await http('GET', `/api/v1/projects/${project.id}/interviews?status=approved`)).length;
      check(approvedAfter === approvedBefore + 1, `one more approved interview (${approvedBefore} → ${approvedAfter})`);

      // Return another with a note.
      const row2 = page.locator('[data-testid=review-submitted] tr[data-id][data-conflicts="0"]').first();
      const returnedId = await row2.getAttribute('data-id');
      await row2.locator('[data-action=return]').click();
      await page.fill('[data-testid=note]', 'Please check the roster. 请核对成员表。');
      await page.click('[data-action=confirm-return]');
      await page.waitForFunction(
        (id) => !document.querySelector(`[data-testid=review-submitted] tr[data-id="${id}"]`),
        returnedId,
      );
      const returned = await http('GET', `/api/v1/projects/${project.id}/interviews/${returnedId}`);
      const st = returned && returned.fields && returned.fields.status;
      check(st === 'returned', `the returned interview's status is returned (${st})`);
      const submitted1 = list(await http('GET', `/api/v1/projects/${project.id}/interviews?status=submitted`));
      check(submitted1.length === submitted0.length - 2, `two fewer to review (${submitted0.length} → ${submitted1.length})`);
      await shot('08-reviewed');
      // Coverage counts the review: one more approved, one more returned, two fewer waiting.
      const coverage1 = await http('GET', `/api/v1/projects/${project.id}/coverage`);
      const before = coverage0.total;
      const after = coverage1.total;
      check(after.approved === before.approved + 1, `coverage counts one more approved (${before.approved} → ${after.approved})`);
      check(after.returned === before.returned + 1, `coverage counts one more returned (${before.returned} → ${after.returned})`);
      check(after.submitted === before.submitted - 2, `coverage counts two fewer to review (${before.submitted} → ${after.submitted})`);
      await page.click('[data-testid=tab-overview]');
      await page.waitForSelector('[data-testid=totals]');
      for (const k of ['completed', 'visited', 'approved']) {
        const text = await page.textContent(`[data-stat=${k}] .value`);
        check(text.replace(/\D/g, '') === String(coverage1.total[k]), `after the review the overview shows ${coverage1.total[k]} ${k} (${text})`);
      }
    }
  });

  // Conflicts: resolve one by choosing a version.
  await section('conflicts', async () => {
    await page.click('[data-testid=tab-conflicts]');
    await page.waitForSelector('[data-testid=conflicts] .conflict, [data-testid=conflicts] .notice');
    const conflicts0 = list(await http('GET', `/api/v1/projects/${project.id}/conflicts`));
    check(conflicts0.length >= 1, `the demo has an open conflict (${conflicts0.length})`);
    await shot('09-conflicts');
    if (conflicts0.length >= 1) {
      const card = page.locator('[data-testid=conflicts] .conflict').first();
      const id = await card.getAttribute('data-conflict');
      const choose = card.locator('[data-action=choose]');
      await ((await choose.count()) > 0 ? choose.last() : card.locator('[data-action=keep]')).click();
      await page.waitForFunction(
        (cid) => !document.querySelector(`[data-testid=conflicts] [data-conflict="${cid}"]`),
        id,
      );
      const conflicts1 = list(await http('GET', `/api/v1/projects/${project.id}/conflicts`));
      check(!conflicts1.some((c) => (c.conflict || c.id) === id), 'the resolved conflict is no longer open');
      await shot('10-conflict-resolved');
    }
  });

  // Refused operations, reserve, exports.
  await section('refusals', async () => {
    await page.click('[data-testid=tab-refusals]');
    await page.waitForSelector('[data-testid=refusals] table, [data-testid=refusals] .notice');
    const refusals = list(await http('GET', `/api/v1/projects/${project.id}/refusals`));
    check(
      (await page.locator('[data-testid=refusals] tbody tr').count()) === refusals.length,
      `every refused operation is listed (${refusals.length})`,
    );
    await shot('11-refusals');
  });

  await section('reserve', async () => {
    await page.click('[data-testid=tab-reserve]');
    await page.waitForSelector('[data-testid=reserve] p, [data-testid=reserve] pre');
    await shot('12-reserve');
  });

  await section('exports', async () => {
    await page.click('[data-testid=tab-exports]');
    await page.waitForSelector('[data-testid=exports] a.download');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid=exports] a.download').first().click(),
    ]);
    const file = await download.path();
    const csv = fs.readFileSync(file, 'utf8');
    check(csv.split('\n').length > 2, `the interviews CSV downloads (${csv.split('\n').length - 1} lines)`);
    await shot('13-exports');
  });

  // Chinese.
  await section('chinese', async () => {
    await page.selectOption('[data-testid=language]', 'zh');
    await page.click('[data-testid=tab-overview]');
    await page.waitForSelector('[data-testid=totals]');
    check((await page.textContent('nav.tabs')).includes('地图'), 'the language switch shows Chinese');
    await shot('14-overview-zh');
  });

  // A tablet in portrait: touch-sized controls.
  await section('tablet', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.click('[data-testid=tab-map]');
    await page.waitForSelector('[data-testid=legend] li[data-status]');
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('nav.tabs a, main button')]
        .filter((e) => e.offsetParent && e.getBoundingClientRect().height < 40)
        .map((e) => e.textContent.trim()),
    );
    check(small.length === 0, `controls are touch-sized on a tablet (${small.join(', ') || 'all'})`);
    await shot('15-map-tablet-zh');
  });
} catch (e) {
  failures.push(`[${step}] ${e.stack || e}`);
  console.log(`FAIL [${step}] ${e.stack || e}`);
} finally {
  await browser.close();
}

check(external.length === 0, `no request left the server (${external.slice(0, 5).join(', ') || 'none'})`);
check(pageErrors.length === 0, `no page or console error${pageErrors.length ? `:\n  ${pageErrors.join('\n  ')}` : ''}`);
console.log(`screenshots in ${path.resolve(shots)}`);
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('\nall checks passed');
