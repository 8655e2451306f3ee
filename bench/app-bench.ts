/**
 * How fast the kanplan app's first screen is interactive (issue 19: "the first screen interactive
 * in under 1 s on this machine with the embedded database"), measured in headless Chromium
 * (playwright-core driving Debian's `chromium`) against `kanplan serve` in its own process on the
 * embedded database (PGlite in a fresh DATA_DIR, loaded with the demo data as `npm start` does).
 *
 * Each run is a fresh browser context (no cookies, no cache) and times three navigations from
 * their navigation start (`performance.now()` is relative to it) to the moment the screen's
 * controls exist — the app builds each control with its handlers attached, so rendered is
 * interactive here:
 *
 *   launch    /app/ → launch.html with its sign-in buttons
 *   work list the redirect back from the authorization server (index.html?code=…) → the work list
 *             rendered (#task-counts): code exchange (PKCE), who is signed in, the Task searches
 *   reload    a reload of the signed-in app (the session kept in sessionStorage) → the work list
 *
 * The sign-in form itself (typing a password) is the authorization server's page and not timed.
 * Figures are medians over the runs, in milliseconds; the first run (cold caches) is shown apart.
 * Not a test: a shared machine gives noisy figures, so the load average is printed beside them.
 *
 *   npm run bench:app -- [runs=7]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildApp } from '../app/build.ts';
import { startKanplan } from './load/processes.ts';

const runs = Number(process.argv[2] ?? 7);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
const work = path.join(root, '.tmp', `bench-app-${process.pid}`);
const env = { DATA_DIR: path.join(work, 'data'), AUTH_KEY_FILE: path.join(work, 'signing-key.json'), AUDIT: 'off' };
const LOGIN = 'bench.tcm';
const PASSWORD = 'bench-app-password-tcm';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Marks, in ms since the document's navigation start, when each screen's controls first exist. */
const MARKS_SCRIPT = `
  window.__marks = {};
  new MutationObserver(() => {
    for (const [name, selector] of [['launch', '#sign-in-work-list'], ['workList', '#task-counts']]) {
      if (window.__marks[name] === undefined && document.querySelector(selector)) window.__marks[name] = performance.now();
    }
  }).observe(document, { subtree: true, childList: true });
`;

async function mark(page: Page, name: 'launch' | 'workList'): Promise<number> {
  await page.waitForFunction((n) => (window as unknown as { __marks: Record<string, number> }).__marks[n] !== undefined, name, { timeout: 60_000 });
  return page.evaluate((n) => (window as unknown as { __marks: Record<string, number> }).__marks[n] as number, name);
}

/** `kanplan user add` on the stopped server's database: a TCM sign-in with a known password. */
async function addBenchUser(): Promise<void> {
  const child = spawn(node, ['src/cli/main.ts', 'user', 'add', '--login', LOGIN, '--fhir-user', 'PractitionerRole/demo-tcm-role', '--password-stdin'], { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.end(`${PASSWORD}\n`);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`kanplan user add exited with ${code}`);
}

/** Signs in through the app and opens the TCM's work list; the page then holds the session. */
async function signIn(page: Page, origin: string): Promise<number> {
  await page.goto(`${origin}/app/`);
  await page.waitForURL('**/app/launch.html');
  const launch = await mark(page, 'launch');
  await page.click('#sign-in-work-list');
  await page.fill('input[name="login"]', LOGIN);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.click('button:has-text("Allow")');
  await page.waitForURL(`${origin}/app/index.html**`);
  return launch;
}

/**
 * A morning's work list for the TCM: TASKS open Tasks over the demo persons (plan reviews due,
 * some overdue, and informal support linkages), written with the TCM's own token from the app's
 * session, as the TCM would open them.
 */
const TASKS = 24;
async function seedWorkList(browser: BrowserContext, origin: string): Promise<void> {
  const page = await browser.newPage();
  await page.addInitScript(MARKS_SCRIPT);
  await signIn(page, origin);
  await page.waitForSelector('#task-counts');
  const created = await page.evaluate(async (count) => {
    const state = JSON.parse(sessionStorage.getItem(JSON.parse(sessionStorage.getItem('SMART_KEY') as string)) as string);
    const headers = { authorization: `Bearer ${state.tokenResponse.access_token}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
    const people = ((await (await fetch(`${state.serverUrl}/Patient?_count=20`, { headers })).json()) as { entry?: { resource: { id: string } }[] }).entry ?? [];
    let ok = 0;
    for (let i = 0; i < count && people.length; i++) {
      const code = i % 3 === 0 ? 'informal-support-linkage' : 'plan-review-due';
      const due = new Date(Date.now() + (i % 4 === 0 ? -3 : 5 + i) * 86_400_000).toISOString().slice(0, 10);
      const task = {
        resourceType: 'Task',
        // A reminder starts ready (its owner is known); a linkage is requested (task-states.ts).
        status: code === 'plan-review-due' ? 'ready' : 'requested',
        intent: 'order',
        code: { coding: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-task-type', code }] },
        description: `Bench task ${i + 1}`,
        for: { reference: `Patient/${people[i % people.length]?.resource.id}` },
        authoredOn: new Date().toISOString(),
        executionPeriod: { end: due },
        requester: { reference: 'PractitionerRole/demo-tcm-role' },
        owner: { reference: 'PractitionerRole/demo-tcm-role' },
      };
      const response = await fetch(`${state.serverUrl}/Task`, { method: 'POST', headers, body: JSON.stringify(task) });
      if (response.ok) ok++;
      else throw new Error(`Task not created: ${response.status} ${await response.text()}`);
    }
    sessionStorage.clear();
    return ok;
  }, TASKS);
  if (created !== TASKS) throw new Error(`only ${created} of ${TASKS} Tasks were created (are the demo persons loaded?)`);
  await page.close();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await buildApp();
  // First start: the demo data (bundles/documents) and demo sign-ins, as on a fresh clone.
  const seeding = await startKanplan({ ...env, LOAD_DEMO_DATA: 'true' });
  await seeding.stop();
  await addBenchUser();
  const server = await startKanplan(env);
  const origin = new URL(server.url).origin;
  const profile = path.join(work, 'chromium');
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const results: { launch: number; workList: number; reload: number; tasks: string }[] = [];
  try {
    await seedWorkList(browser, origin);
    for (let run = 0; run < runs; run++) {
      await browser.clearCookies();
      const page = await browser.newPage();
      await page.addInitScript(MARKS_SCRIPT);
      await page.setViewportSize({ width: 390, height: 844 });
      const launch = await signIn(page, origin);
      const workList = await mark(page, 'workList');
      const tasks = (await page.textContent('#task-counts')) ?? '';
      await page.reload();
      const reload = await mark(page, 'workList');
      results.push({ launch, workList, reload, tasks });
      await page.evaluate(() => sessionStorage.clear());
      await page.close();
    }
  } finally {
    await browser.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const round = (n: number) => Math.round(n);
  const rest = results.length > 1 ? results.slice(1) : results;
  console.log(`kanplan app, first screen interactive (ms from navigation start), ${results.length} runs, embedded database, demo data; work list: ${results[0]?.tasks}`);
  console.log(`load average (1, 5, 15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}; ${os.cpus().length} cores`);
  for (const key of ['launch', 'workList', 'reload'] as const) {
    console.log(`  ${key.padEnd(9)} median ${round(median(rest.map((r) => r[key])))} ms (runs 2–${results.length}); first run ${round(results[0]?.[key] ?? 0)} ms; all: ${results.map((r) => round(r[key])).join(', ')}`);
  }
}

await main();
