// SPDX-License-Identifier: GPL-2.0-or-later
// admin_helpdesk.cjs - the helpdesk's calls walked through on the admin page in headless Chromium,
// once per width in WALKS (desktop and phone): a lockout made by real failed POP3 logins appears
// live and is lifted with Unlock; "Why can't I send?" says denied, then authorized after a POP3
// login, in popgatectl check's words; a block made with the page's form stops the account's
// relaying and Unblock gives it back; the audit trail names the admin. Then a viewer sees it all
// without a single change button. Between the walks popgated is reloaded (SIGHUP): still logged in. The Python side (test_admin_helpdesk.py) acts on the server
// with poplib and smtplib and checks its answers whenever this script ask()s.
//
// Environment: as admin_browser.cjs, plus ADMIN_USER/ADMIN_PASS, VIEWER_USER/VIEWER_PASS and
// WALKS (JSON: [{name, width, height, ip, user, block: {duration|forever, pop, note}}]).
'use strict';

const { env, check, ask, run, finish, shot, login, logout, refreshed, noSideScroll } = require('./browser_lib.cjs');

const WALKS = JSON.parse(env('WALKS'));
const ADMIN = env('ADMIN_USER');
// "14:02:11 (3m ago)", "2026-12-03 14:02:11 (1d 2h ago)", "14:32:11 (in 29m)"
const TIME = /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \((just now|[\dsmhd ]+ ago|in [\dsmhd ]+)\)$/;

const cells = (row) => row.locator('td').allTextContents();
const dataIps = (page, tbody) => page.locator('#' + tbody + ' tr').evaluateAll((trs) => trs.map((t) => t.dataset.ip));

// confirmDialog - the page's own dialog is up and names WHAT; OK or Cancel it.
async function confirmDialog(page, what, ok) {
  await page.locator('#confirm').waitFor({ state: 'visible' });
  const text = await page.textContent('#confirm-text');
  check(text.includes(what), 'the page asks before it acts: "' + text + '"');
  await page.click(ok ? '#confirm-ok' : '#confirm-cancel');
  await page.locator('#confirm').waitFor({ state: 'hidden' });
}

// toast - the confirmation line says TEXT (a string to start with, or a RegExp).
async function toast(page, text, failed) {
  await page.waitForFunction(([t, isRe]) => {
    const e = document.getElementById('toast-text');
    if (!e || document.getElementById('toast').hidden) return false;
    return isRe ? new RegExp(t).test(e.textContent) : e.textContent.startsWith(t);
  }, [text instanceof RegExp ? text.source : text, text instanceof RegExp]);
  const cls = await page.getAttribute('#toast', 'class');
  check(cls.includes(failed ? 'failed' : 'done'), 'the page says: ' + await page.textContent('#toast-text'));
}

async function step(page, w, n, name) {
  if (w.width < 700) await noSideScroll(page, 'at ' + w.width + 'px (' + name + ')');
  await shot(page, 'helpdesk-' + w.name + '-' + n + '-' + name + '.png');
}

// sortedSeeds - the page lists addresses in numeric order, IPv4 before IPv6 (desktop walk only:
// the test added 9.1.1.1, 10.0.0.2 and 2001:db8::1 by popgatectl; the page adds 10.0.0.10).
async function sortedSeeds(page) {
  await page.fill('#add-ip', '10.0.0.10');
  await page.fill('#add-ttl', '1h');
  await page.fill('#add-user', 'walk-in customer');
  await page.click('#add-submit');
  await toast(page, /^Authorized 10\.0\.0\.10 by hand until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \(in (1h|59m)\)\.$/);
  const row = page.locator('#relay-rows tr[data-ip="10.0.0.10"]');
  await row.waitFor();
  check((await cells(row))[2] === 'added by hand', 'an address added on the page is "added by hand"');
  const ips = (await dataIps(page, 'relay-rows')).filter((ip) => ip !== '127.0.0.1');
  check(JSON.stringify(ips) === JSON.stringify(['9.1.1.1', '10.0.0.2', '10.0.0.10', '2001:db8::1']),
        'authorizations in numeric order, IPv4 before IPv6: ' + ips.join(' '));
}

async function lockoutAndUnlock(page, w) {
  const row = page.locator(`#lockout-rows tr[data-ip="${w.ip}"]`);
  check(await row.count() === 0, w.ip + ' has no failed logins yet');
  await ask('lock', { ip: w.ip, user: w.user });
  // No reload: the page polls. It may have shown the first failures already; wait for the lockout.
  await page.locator(`#lockout-rows tr[data-ip="${w.ip}"]`, { hasText: 'locked out' }).waitFor();
  const c = await cells(row);
  console.log('lockout row: ' + JSON.stringify(c));
  check(c[0] === w.ip && c[1] === w.user && c[2] === '3', 'the lockout shows address, user and 3 failures');
  check(c[3].startsWith('locked out'), 'it says the address is locked out (' + c[3] + ')');
  check(TIME.test(c[4]) && TIME.test(c[5]) && /\(in (59m|1h)\)$/.test(c[5]), 'since and until, absolute and relative');
  const order = await dataIps(page, 'lockout-rows');
  check(JSON.stringify(order) === JSON.stringify([w.ip, '127.0.0.9', '127.0.0.10']),
        'addresses in numeric order (' + order.join(' ') + ')');
  const penalty = await cells(page.locator('#lockout-rows tr[data-ip="127.0.0.10"]'));
  check(/^penalty: its next login waits [12]s$/.test(penalty[3]), 'a penalty says what it does (' + penalty[3] + ')');
  await step(page, w, 1, 'lockout');

  if (w.name === 'desktop') {   // Cancel does nothing, also after the next refresh
    await row.locator('button').click();
    await confirmDialog(page, 'Unlock ' + w.ip + '?', false);
    await refreshed(page, 1);
    check(await row.count() === 1, 'Cancel leaves the lockout alone');
  }
  await row.locator('button').click();
  await confirmDialog(page, 'Unlock ' + w.ip + '?', true);
  await toast(page, 'Unlocked ' + w.ip + ': the failed logins of 1 user name are forgotten.');
  await row.waitFor({ state: 'detached' });
  await step(page, w, 2, 'unlocked');
  await ask('unlocked', { ip: w.ip });
}

async function checkLines(page) {
  return page.locator('#check-lines li').allTextContents();
}

async function whyCantISend(page, w) {
  await ask('denied', { ip: w.ip });
  await page.fill('#check-ip', w.ip);
  await page.fill('#check-user', '');
  await page.click('#check-submit');
  await page.locator('#check-verdict', { hasText: 'Cannot relay (unknown)' }).waitFor();
  let lines = await checkLines(page);
  check(lines[0] === w.ip + ': relay denied: unknown', 'denied, in words: ' + lines[0]);
  check(lines.includes(`authorization: none for ${w.ip} (no POP login from it within relay.timeout)`),
        'no authorization');
  await ask('same_words', { ip: w.ip, lines });
  await step(page, w, 3, 'check-denied');

  await ask('pop_login', { ip: w.ip, user: w.user });
  // The shown answer follows the server without another click.
  await page.locator('#check-verdict', { hasText: 'Can relay (authorized)' }).waitFor();
  lines = await checkLines(page);
  check(lines[0] === `${w.ip}: relay allowed: authorized user ${w.user}`, 'authorized, in words: ' + lines[0]);
  check(lines.some((l) => new RegExp(`^authorization: user ${w.user}, POP3 login, since `).test(l)),
        'the authorization in words (POP3 login, since, expires)');
  check(lines.some((l) => l.startsWith('last login seen for ' + w.ip + ': ')), 'the last login is in the answer');
  await ask('same_words', { ip: w.ip, lines });
  const row = page.locator(`#relay-rows tr[data-ip="${w.ip}"]`);
  await row.waitFor();
  check((await cells(row))[2] === 'POP3 login', 'the authorization is listed as a "POP3 login"');
  await step(page, w, 4, 'check-allowed');
}

async function fillBlock(page, w, duration) {
  await page.fill('#block-user', w.user);
  if (w.block.forever) await page.check('#block-forever');
  else await page.fill('#block-duration', duration);
  if (w.block.pop) await page.check('#block-pop');
  await page.fill('#block-note', w.block.note);
  await page.click('#block-submit');
}

async function blockAndUnblock(page, w) {
  if (w.name === 'desktop') {   // a failure is said, next to the form and in the confirmation line
    await page.fill('#block-user', w.user);
    await page.locator('#live', { hasText: 'paused while you edit' }).waitFor();
    check(true, 'live updates wait while a form is being filled in');
    await fillBlock(page, w, 'soon');
    await confirmDialog(page, 'Block ' + w.user + ' for soon?', true);
    await toast(page, 'Could not block ' + w.user + ': ', true);
    await page.locator('#block-error').waitFor();
    check(/duration/.test(await page.textContent('#block-error')), 'the form says what is wrong');
    check(await page.locator(`#block-rows tr[data-user="${w.user}"]`).count() === 0, 'nothing was blocked');
  }
  await fillBlock(page, w, w.block.duration);
  await confirmDialog(page, 'Block ' + w.user + (w.block.forever ? ' until lifted?' : ' for ' + w.block.duration + '?'), true);
  // (with the date when it ends tomorrow)
  const until = w.block.forever ? 'until lifted' : 'until (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d:\\d\\d \\(in (2h|1h 59m)\\)';
  await toast(page, new RegExp('^Blocked ' + w.user + ' ' + until + '; 1 authorization revoked\\.$'));
  const row = page.locator(`#block-rows tr[data-user="${w.user}"]`);
  await row.waitFor();
  const c = await cells(row);
  console.log('block row: ' + JSON.stringify(c));
  check(c[0] === w.user && TIME.test(c[1]), 'the block is listed with its start');
  check(w.block.forever ? c[2] === 'until lifted' : TIME.test(c[2]), 'and its end (' + c[2] + ')');
  check(c[3] === (w.block.pop ? 'refused' : 'allowed, but no relaying'), 'and what it does to POP logins');
  check(c[4] === ADMIN && c[5] === w.block.note, 'and who blocked it, with the note');
  await page.locator(`#relay-rows tr[data-ip="${w.ip}"]`).waitFor({ state: 'detached' });
  await page.locator('#check-verdict', { hasText: 'Cannot relay' }).waitFor();
  check(true, 'its authorization is gone from the list and the check says so');
  await step(page, w, 5, 'blocked');
  await ask('blocked', { ip: w.ip, user: w.user, pop: !!w.block.pop });

  await row.locator('button').click();
  await confirmDialog(page, 'Unblock ' + w.user + '?', true);
  await toast(page, 'Unblocked ' + w.user + ': its next POP login authorizes relaying again.');
  await row.waitFor({ state: 'detached' });
  await ask('unblocked', { ip: w.ip, user: w.user });
  await page.locator('#check-verdict', { hasText: 'Can relay (authorized)' }).waitFor();
  await step(page, w, 6, 'unblocked');
}

async function auditTrail(page, w) {
  const want = ['unlocked ' + w.ip + ' (', 'blocked ' + w.user + ' ', 'unblocked ' + w.user];
  for (const what of want) {
    const find = (d) => [...document.querySelectorAll('#audit-rows tr')]
      .map((tr) => [...tr.cells].map((td) => td.textContent)).find((c) => c[4].startsWith(d));
    await page.waitForFunction(`(${find})(${JSON.stringify(what)}) !== undefined`);
    const c = await page.evaluate(find, what);
    check(TIME.test(c[0]) && c[1] === ADMIN && c[2] === '127.0.0.1' && c[4].startsWith(what),
          'the audit trail: ' + c.join(' | '));
  }
  const events = await page.locator('#event-rows').textContent();
  check(events.includes('unblocked ' + w.user) && events.includes(ADMIN), 'the latest events show it too');
  await page.locator('#audit').scrollIntoViewIfNeeded();
  await step(page, w, 7, 'audit');
}

// reload - a SIGHUP restarts the admin worker; the helpdesk stays logged in and the page live.
async function reload(page) {
  await ask('reload');
  await refreshed(page, 2);
  check(await page.locator('#app-view').isVisible() && (await page.textContent('#whoami')) === ADMIN,
        'still logged in after popgated reloaded');
  check(await page.locator('#app-error').isHidden(), 'and the page is live again');
}

async function viewer(page, url) {
  const w = WALKS[WALKS.length - 1];
  await logout(page);
  await login(page, url, env('VIEWER_USER'), env('VIEWER_PASS'), 'viewer');
  await page.locator('#block-rows tr[data-user="dave"]').waitFor();
  await page.locator('#lockout-rows tr[data-ip="127.0.0.9"]').waitFor();
  await page.locator('#relay-rows tr').first().waitFor();
  await page.locator('#audit-rows tr').first().waitFor();
  check(await page.locator('#relay-rows button, #lockout-rows button, #block-rows button').count() === 0,
        'a viewer has no Revoke, Unlock or Unblock button');
  check(await page.locator('#toast').isHidden(), 'nor the confirmation of the admin before');
  check(await page.locator('#add-form').isHidden() && await page.locator('#block-form').isHidden(),
        'nor the forms that add or block');
  await page.fill('#check-ip', w.ip);
  await page.click('#check-submit');
  await page.locator('#check-verdict', { hasText: 'Can relay (authorized)' }).waitFor();
  check(true, 'a viewer may ask "why can\'t I send?"');
  await noSideScroll(page, 'for the viewer at ' + w.width + 'px');
  await shot(page, 'helpdesk-' + w.name + '-8-viewer.png');
}

async function walkAll(page, url) {
  await login(page, url, ADMIN, env('ADMIN_PASS'), 'admin');
  for (const w of WALKS) {
    console.log('# walk at ' + w.width + 'x' + w.height + ' (' + w.name + ')');
    await page.setViewportSize({ width: w.width, height: w.height });
    await page.locator('#lockout-rows tr[data-ip="127.0.0.10"]').waitFor();
    if (w.name === 'desktop') await sortedSeeds(page);
    await lockoutAndUnlock(page, w);
    await whyCantISend(page, w);
    await blockAndUnblock(page, w);
    await auditTrail(page, w);
    if (w.name === 'desktop') await reload(page);
  }
  await viewer(page, url);
}

finish(run(walkAll, 'helpdesk-failure.png', [400, 401]), 'HELPDESK PASSED');
