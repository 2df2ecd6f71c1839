// SPDX-License-Identifier: GPL-2.0-or-later
// browser_lib.cjs - what the browser tests share: Debian's headless Chromium under Playwright with
// a watch on console errors, CSP violations and requests leaving popgated; the checks; logging in;
// screenshots; the width check; and ask(), which has the Python test act on the server (real POP3
// and SMTP clients) in the middle of a walk-through and answer on stdin (browser_helpers.run_node).
'use strict';

const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

function env(k, d) {
  const v = process.env[k] || d;
  if (v === undefined) throw new Error('missing environment variable ' + k);
  return v;
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

// ---- the Python side ----------------------------------------------------------------------

let stdin = null;
const lines = [];
const waiting = [];

function input() {
  if (stdin) return;
  stdin = readline.createInterface({ input: process.stdin });
  stdin.on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else lines.push(l);
  });
  stdin.on('close', () => {
    for (const w of waiting.splice(0)) w(JSON.stringify({ error: 'the test closed its side' }));
  });
}

// ask - have the Python test do ACTION with ARGS on the server; its JSON answer, or a throw
// when it found the server's behaviour wrong.
async function ask(action, args) {
  input();
  process.stdout.write('ASK ' + JSON.stringify(Object.assign({ action }, args || {})) + '\n');
  const line = lines.length ? lines.shift() : await new Promise((resolve) => waiting.push(resolve));
  const reply = JSON.parse(line);
  if (reply.error) throw new Error('on the server side, ' + action + ': ' + reply.error);
  console.log('ok - server: ' + action + ' ' + JSON.stringify(reply));
  return reply;
}

// ---- the browser --------------------------------------------------------------------------

// run - launch Chromium with a fresh profile, give BODY the page, and fail on any console error,
// CSP violation or request leaving ADMIN_URL's origin, but for the HTTP statuses in ALLOWED (the
// browser logs every failed request; a test that provokes one says so). A failure leaves FAILSHOT.
async function run(body, failShot, allowed) {
  const expected = new RegExp('status of (' + (allowed || [401]).join('|') + ')');
  const url = env('ADMIN_URL');
  const context = await chromium.launchPersistentContext(env('PROFILE_DIR'), {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  const origin = new globalThis.URL(url).origin;
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) problems.push('external request: ' + r.url());
  });
  try {
    await body(page, url);
    check(problems.length === 0, 'no console errors, CSP violations or external requests (' +
          problems.join('; ') + ')');
  } catch (e) {
    await shot(page, failShot).catch(() => {});
    throw e;
  } finally {
    await context.close();
    if (stdin) stdin.close();
  }
}

// finish - report the outcome of PROMISE as the Python side expects it.
function finish(promise, marker) {
  promise.then(() => {
    console.log(marker);
    process.exit(0);
  }, (e) => {
    console.error('E2E FAILED: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  });
}

async function shot(page, name) {
  const file = path.join(env('ARTIFACTS'), name);
  await page.screenshot({ path: file, fullPage: true });
  console.log('screenshot: ' + file);
}

// login - through the page's own form; resolves once the app is shown with ROLE.
async function login(page, url, user, password, role) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.locator('#login-view').waitFor({ state: 'visible' });
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  check((await page.textContent('#role')) === role, 'logged in as ' + user + ' with the ' + role + ' role');
}

async function logout(page) {
  await page.click('#logout');
  await page.locator('#login-view').waitFor({ state: 'visible' });
}

// refreshed - resolves after the page has fetched everything from the server N more times.
async function refreshed(page, n) {
  const start = Number(await page.evaluate(() => document.body.dataset.refreshes || 0));
  await page.waitForFunction((want) => Number(document.body.dataset.refreshes || 0) >= want, start + n);
}

// noSideScroll - the whole page is no wider than the window (tables scroll inside their box).
async function noSideScroll(page, what) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(w[0] <= w[1], 'no horizontal scrolling of the page ' + what + ' (' + w[0] + 'px in ' + w[1] + 'px)');
}

module.exports = { env, check, ask, run, finish, shot, login, logout, refreshed, noSideScroll };
