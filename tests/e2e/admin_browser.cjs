// SPDX-License-Identifier: GPL-2.0-or-later
// admin_browser.cjs - drive the popgate admin page in Debian's headless Chromium with Playwright.
//
// Run by test_admin_browser.py, which starts popgated and makes a real POP3 login first. This
// script logs in as a helpdesk admin, finds TARGET_IP's authorization on the page, checks the
// counters and the search, keeps screenshots, revokes the authorization with the page's own
// button, and checks that it is gone. Everything is on 127.0.0.1. Exit status 0 means all passed.
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASS, TARGET_IP, TARGET_USER, ARTIFACTS (directory for
// the screenshots), PROFILE_DIR (a fresh Chromium profile), CHROMIUM (default /usr/bin/chromium).
'use strict';

const path = require('path');
const { chromium } = require('playwright-core');

const env = (k, d) => {
  const v = process.env[k] || d;
  if (v === undefined) throw new Error('missing environment variable ' + k);
  return v;
};

const URL = env('ADMIN_URL');
const TARGET_IP = env('TARGET_IP');
const TARGET_USER = env('TARGET_USER');
const ARTIFACTS = env('ARTIFACTS');

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function main() {
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
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // The page must work offline: any request leaving popgated is a failure.
  const origin = new globalThis.URL(URL).origin;
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) problems.push('external request: ' + r.url());
  });
  try {
    await run(page);
    check(problems.length === 0, 'no console errors, CSP violations or external requests (' +
          problems.join('; ') + ')');
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-failure.png'), fullPage: true })
      .catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

async function run(page) {
  await page.goto(URL, { waitUntil: 'domcontentloaded' });
  await page.locator('#login-view').waitFor({ state: 'visible' });
  check(await page.locator('#app-view').isHidden(), 'the data is hidden before login');

  await page.fill('#login-user', env('ADMIN_USER'));
  await page.fill('#login-password', 'wrong password');
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  check(/wrong/i.test(await page.textContent('#login-error')), 'a wrong password is refused');

  await page.fill('#login-password', env('ADMIN_PASS'));
  await page.click('#login-submit');
  await page.locator('#app-view').waitFor({ state: 'visible' });
  check((await page.textContent('#role')) === 'admin', 'logged in with the admin role');
  const cookies = await page.context().cookies();
  const sess = cookies.find((c) => c.name === 'popgate_admin');
  check(sess && sess.httpOnly && sess.sameSite === 'Strict', 'the session cookie is HttpOnly, SameSite=Strict');

  const row = page.locator(`#relay-rows tr[data-ip="${TARGET_IP}"]`);
  await row.waitFor({ state: 'visible', timeout: 15000 });
  const cells = await row.locator('td').allTextContents();
  console.log('row: ' + JSON.stringify(cells));
  check(cells[0] === TARGET_IP, 'the authorization of ' + TARGET_IP + ' is listed');
  check(cells[1] === TARGET_USER, 'it names the POP3 user ' + TARGET_USER);
  check(/^pop3/.test(cells[2]), 'it was made by POP3');
  check(/ago|just now/.test(cells[3]) && /ago|just now/.test(cells[4]), 'first seen and last login are relative times');
  check(/^\d+(s|m|h)/.test(cells[5]), 'it shows when it expires (' + cells[5] + ')');
  check(Number(cells[6]) >= 1, 'it counts the login');

  // The counters come from the master: the POP3 login is in them.
  await page.waitForFunction(() => Number(document.getElementById('c-logins-ok').textContent) >= 1,
                             null, { timeout: 15000 });
  check(true, 'the live counters show the POP3 login');
  await page.locator('#event-rows tr').first().waitFor({ state: 'visible', timeout: 15000 });
  const events = await page.locator('#event-rows').textContent();
  check(events.includes(TARGET_IP), 'the latest events include the login from ' + TARGET_IP);

  await page.fill('#search', 'no-such-thing');
  await page.locator('#relay-empty').waitFor({ state: 'visible' });
  check(await row.count() === 0, 'a search that matches nothing hides the row');
  await page.fill('#search', TARGET_USER);
  await row.waitFor({ state: 'visible' });
  check(true, 'a search by user finds it again');
  await page.fill('#search', '');
  await row.waitFor({ state: 'visible' });

  await page.screenshot({ path: path.join(ARTIFACTS, 'admin.png'), fullPage: true });
  console.log('screenshot: ' + path.join(ARTIFACTS, 'admin.png'));

  // Readable on a phone: no sideways scrolling, the row becomes a card with labels.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 392, 'no horizontal scrolling at phone width (' + overflow + 'px)');
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Revoke: the first click arms the button, the second revokes.
  const button = row.locator('button');
  await button.click();
  check((await button.textContent()) === 'Really revoke?', 'revoking asks for confirmation');
  await button.click();
  await row.waitFor({ state: 'detached', timeout: 15000 });
  // ...and it stays gone after the page refreshes itself from the server.
  await page.waitForTimeout(6000);
  check(await row.count() === 0, 'the authorization is gone, also after the next refresh');
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-revoked.png'), fullPage: true });

  await page.click('#logout');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  const status = await page.evaluate(async () => (await fetch('api/relays')).status);
  check(status === 401, 'after logout the API refuses the browser (' + status + ')');
}

main().then(() => {
  console.log('E2E PASSED');
}, (e) => {
  console.error('E2E FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
