// SPDX-License-Identifier: GPL-2.0-or-later
// admin_browser.cjs - drive the popgate admin page in Debian's headless Chromium with Playwright.
//
// Run by test_admin_browser.py, which starts popgated and makes a real POP3 login first. This
// script logs in as a helpdesk admin, finds TARGET_IP's authorization on the page, checks the
// counters and the search, keeps screenshots, revokes the authorization with the page's own
// button (after its confirmation dialog), and checks that it is gone. Everything is on 127.0.0.1.
// Exit status 0 means all passed; browser_lib.cjs has the plumbing it shares with the others.
//
// Environment: ADMIN_URL, ADMIN_USER, ADMIN_PASS, TARGET_IP, TARGET_USER, ARTIFACTS (directory for
// the screenshots), PROFILE_DIR (a fresh Chromium profile), CHROMIUM (default /usr/bin/chromium).
'use strict';

const { env, check, run, finish, shot, refreshed, noSideScroll } = require('./browser_lib.cjs');

const URL = env('ADMIN_URL');
const TARGET_IP = env('TARGET_IP');
const TARGET_USER = env('TARGET_USER');
// "14:02:11 (3m ago)", "2026-12-03 14:02:11 (1d 2h ago)", "14:32:11 (in 29m)"
const TIME = /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \((just now|[\dsmhd ]+ ago|in [\dsmhd ]+)\)$/;

async function walk(page) {
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
  check(cells[2] === 'POP3 login', 'it was made by a POP3 login, in words');
  check(TIME.test(cells[3]) && TIME.test(cells[4]), 'first seen and last login are absolute and relative times');
  check(/ \(in (29|30)m\)$/.test(cells[5]) && TIME.test(cells[5]), 'it shows when it expires (' + cells[5] + ')');
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

  await shot(page, 'admin.png');

  // Readable on a phone: no sideways scrolling, the row becomes a card with labels.
  await page.setViewportSize({ width: 390, height: 844 });
  await noSideScroll(page, 'at phone width');
  await shot(page, 'admin-phone.png');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Revoke: the page asks first, in its own dialog; Cancel leaves the authorization alone.
  const button = row.locator('button');
  await button.click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  check((await page.textContent('#confirm-ok')) === 'Revoke ' + TARGET_IP, 'revoking asks for confirmation');
  await page.click('#confirm-cancel');
  await page.locator('#confirm').waitFor({ state: 'hidden' });
  await refreshed(page, 1);
  check(await row.count() === 1, 'Cancel revokes nothing');
  await button.click();
  await page.click('#confirm-ok');
  await row.waitFor({ state: 'detached', timeout: 15000 });
  await page.locator('#toast').waitFor({ state: 'visible' });
  check((await page.textContent('#toast-text')) === 'Revoked the relay authorization of ' + TARGET_IP + '.',
        'the page confirms the revocation');
  // ...and it stays gone after the page refreshes itself from the server, twice.
  await refreshed(page, 2);
  check(await row.count() === 0, 'the authorization is gone, also after the next refreshes');
  await shot(page, 'admin-revoked.png');

  await page.click('#logout');
  await page.locator('#login-view').waitFor({ state: 'visible' });
  const status = await page.evaluate(async () => (await fetch('api/relays')).status);
  check(status === 401, 'after logout the API refuses the browser (' + status + ')');
}

finish(run(walk, 'admin-failure.png'), 'E2E PASSED');
