// SPDX-License-Identifier: GPL-2.0-or-later
// fmt_test.cjs - the admin page's formatting (www/fmt.js) in node, without a browser: times with
// absolute and relative parts, the numeric address order (IPv4 before IPv6), protocols in words.
// Run by test_admin_helpdesk.py with TZ=UTC. Exit status 0 means all passed.
'use strict';

const assert = require('assert');
const path = require('path');

const fmt = require(path.join(process.env.WWW_DIR || path.join(__dirname, '..', '..', 'www'), 'fmt.js'));

const now = Date.UTC(2026, 11, 4, 14, 5, 11) / 1000;     // 2026-12-04 14:05:11 UTC
const cases = [
  ['a time today', () => assert.strictEqual(fmt.when(now - 180, now), '14:02:11 (3m ago)')],
  ['a time to come', () => assert.strictEqual(fmt.when(now + 1740, now), '14:34:11 (in 29m)')],
  ['another day shows its date', () =>
    assert.strictEqual(fmt.when(now - 86400 - 3600, now), '2026-12-03 13:05:11 (1d 1h ago)')],
  ['a moment ago', () => assert.strictEqual(fmt.when(now - 2, now), '14:05:09 (just now)')],
  ['no time', () => assert.strictEqual(fmt.when(0, now), '—')],
  ['spans', () => assert.deepStrictEqual([59, 60, 3660, 90000].map(fmt.span), ['59s', '1m', '1h 1m', '1d 1h'])],
  ['numeric IPv4 order, not string order', () => {
    const ips = ['10.0.0.10', '9.255.0.1', '10.0.0.2', '127.0.0.1', '10.0.0.9'];
    assert.deepStrictEqual(ips.slice().sort(fmt.compareAddr),
                           ['9.255.0.1', '10.0.0.2', '10.0.0.9', '10.0.0.10', '127.0.0.1']);
  }],
  ['IPv4 before IPv6, IPv6 by its numbers', () => {
    const ips = ['2001:db8::10', '::1', '192.0.2.7', '2001:db8::9', 'fe80::1', '2001:db8:0:0:1::', '::ffff:10.0.0.1'];
    assert.deepStrictEqual(ips.slice().sort(fmt.compareAddr),
                           ['192.0.2.7', '::1', '::ffff:10.0.0.1', '2001:db8::9', '2001:db8::10',
                            '2001:db8:0:0:1::', 'fe80::1']);
  }],
  ['something else sorts last', () =>
    assert.deepStrictEqual(['b', '::1', 'a', '1.2.3.4'].sort(fmt.compareAddr), ['1.2.3.4', '::1', 'a', 'b'])],
  ['rows by address, then user', () => {
    const rows = [{ ip: '10.0.0.10', user: 'a' }, { ip: '10.0.0.2', user: 'b' }, { ip: '10.0.0.2', user: 'a' }];
    assert.deepStrictEqual(fmt.byAddr(rows).map((r) => r.ip + ' ' + r.user),
                           ['10.0.0.2 a', '10.0.0.2 b', '10.0.0.10 a']);
  }],
  ['protocols in words (as relay_proto_words)', () => {
    assert.deepStrictEqual(['pop3', 'pop3s', 'manual', 'drac', 'smtp-auth', 'odd'].map(fmt.protoWords),
                           ['POP3 login', 'POP3 over TLS', 'added by hand', 'imported from DRAC', 'SMTP AUTH', 'odd']);
    assert.strictEqual(fmt.serviceWords('smtps'), 'SMTP over TLS');
    assert.strictEqual(fmt.actionWords('unlock'), 'unlocked');
  }],
];

let failed = 0;
for (const [name, fn] of cases) {
  try {
    fn();
    console.log('ok - ' + name);
  } catch (e) {
    failed++;
    console.log('not ok - ' + name + ': ' + e.message);
  }
}
if (failed) {
  console.log(failed + ' failed');
  process.exit(1);
}
console.log('FMT PASSED');
