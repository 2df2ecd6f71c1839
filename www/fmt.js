// SPDX-License-Identifier: GPL-2.0-or-later
// fmt.js - how the admin page writes times, addresses and protocols so a helpdesk reads them at a
// glance: "14:02:11 (3m ago)", addresses in numeric order (IPv4 before IPv6), "POP3 over TLS".
// Pure functions only, so that tests/e2e/fmt_test.cjs checks them in node without a browser.
'use strict';

(function (root) {
  // The same words as relay_proto_words() in src/relaydb/explain.c, which popgatectl check and
  // GET /api/check use: the page and the CLI must not name one thing two ways.
  const PROTO_WORDS = {
    pop3: 'POP3 login', pop3s: 'POP3 over TLS', manual: 'added by hand', drac: 'imported from DRAC',
    smtp: 'SMTP', smtps: 'SMTP over TLS', 'smtp-auth': 'SMTP AUTH', admin: 'admin page',
  };
  // The events name the listener a session came in on (src/master/services.c), not how it logged in.
  const SERVICE_WORDS = {
    pop3: 'POP3', pop3s: 'POP3 over TLS', smtp: 'SMTP', smtps: 'SMTP over TLS', admin: 'admin page',
  };
  // The audit trail's actions (src/admin/*.c, popgatectl) as a helpdesk says them.
  const ACTION_WORDS = {
    login: 'logged in', logout: 'logged out', add: 'authorized by hand', revoke: 'revoked',
    unlock: 'unlocked', block: 'blocked', unblock: 'unblocked',
  };

  function protoWords(p) {
    return Object.prototype.hasOwnProperty.call(PROTO_WORDS, p) ? PROTO_WORDS[p] : (p || '—');
  }

  function serviceWords(p) {
    return Object.prototype.hasOwnProperty.call(SERVICE_WORDS, p) ? SERVICE_WORDS[p] : (p || '—');
  }

  function actionWords(a) {
    return Object.prototype.hasOwnProperty.call(ACTION_WORDS, a) ? ACTION_WORDS[a] : (a || '—');
  }

  // span - "12s", "5m", "2h 5m", "3d 4h": short enough for a phone.
  function span(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + 's';
    const m = Math.floor(sec / 60);
    if (m < 60) return m + 'm';
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    const d = Math.floor(h / 24);
    return d + 'd' + (h % 24 ? ' ' + (h % 24) + 'h' : '');
  }

  // relative - "just now", "3m ago", "in 29m", from the server's NOW (epoch seconds).
  function relative(epoch, now) {
    const d = now - epoch;
    if (Math.abs(d) < 5) return 'just now';
    return d > 0 ? span(d) + ' ago' : 'in ' + span(-d);
  }

  const pad = (n) => String(n).padStart(2, '0');

  // absolute - "14:02:11" today, "2026-12-03 14:02:11" on another day, in the browser's time zone.
  function absolute(epoch, now) {
    const t = new Date(epoch * 1000);
    const n = new Date(now * 1000);
    const hms = pad(t.getHours()) + ':' + pad(t.getMinutes()) + ':' + pad(t.getSeconds());
    if (t.getFullYear() === n.getFullYear() && t.getMonth() === n.getMonth() && t.getDate() === n.getDate())
      return hms;
    return t.getFullYear() + '-' + pad(t.getMonth() + 1) + '-' + pad(t.getDate()) + ' ' + hms;
  }

  // when - a time as the page shows it everywhere: "14:02:11 (3m ago)"; NONE when there is none.
  function when(epoch, now, none) {
    if (!epoch) return none === undefined ? '—' : none;
    return absolute(epoch, now) + ' (' + relative(epoch, now) + ')';
  }

  // ipv4 - the four numbers of a dotted quad, or null.
  function ipv4(s) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) return null;
    const v = m.slice(1).map(Number);
    return v.every((x) => x <= 255) ? v : null;
  }

  // ipv6 - the eight 16-bit groups of an IPv6 address (with :: and a trailing IPv4), or null.
  function ipv6(s) {
    if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split('::').length > 2) return null;
    const half = (part) => {
      if (part === '') return [];
      const out = [];
      const bits = part.split(':');
      for (let i = 0; i < bits.length; i++) {
        const v4 = i === bits.length - 1 ? ipv4(bits[i]) : null;
        if (v4) {
          out.push(v4[0] * 256 + v4[1], v4[2] * 256 + v4[3]);
        } else if (/^[0-9a-fA-F]{1,4}$/.test(bits[i])) {
          out.push(parseInt(bits[i], 16));
        } else {
          return null;
        }
      }
      return out;
    };
    const parts = s.split('::');
    const head = half(parts[0]);
    const tail = parts.length === 2 ? half(parts[1]) : [];
    if (head === null || tail === null) return null;
    const fill = 8 - head.length - tail.length;
    if (parts.length === 2 ? fill < 1 : fill !== 0) return null;
    return head.concat(new Array(fill).fill(0), tail);
  }

  // addrKey - what an address sorts by: IPv4 first, then IPv6, each by its numbers; else text.
  function addrKey(s) {
    const v4 = ipv4(s);
    if (v4) return [0].concat(v4);
    const v6 = ipv6(s);
    if (v6) return [1].concat(v6);
    return null;
  }

  // compareAddr - a numeric order of addresses: 10.0.0.2 < 10.0.0.10 < 127.0.0.1 < ::1 < 2001:db8::1.
  function compareAddr(a, b) {
    const ka = addrKey(a);
    const kb = addrKey(b);
    if (ka && kb) {
      for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
        const d = (ka[i] || 0) - (kb[i] || 0);
        if (d !== 0) return d;
      }
      return 0;
    }
    if (ka || kb) return ka ? -1 : 1;   // something that is not an address goes last
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // byAddr - ROWS sorted by their ip field (numerically), then by user; a new array.
  function byAddr(rows) {
    return rows.slice().sort((x, y) => compareAddr(x.ip, y.ip) ||
      ((x.user || '') < (y.user || '') ? -1 : (x.user || '') > (y.user || '') ? 1 : 0));
  }

  const fmt = { protoWords, serviceWords, actionWords, span, relative, absolute, when, compareAddr, byAddr };
  if (typeof module === 'object' && module.exports) module.exports = fmt;
  else root.popgate = Object.assign(root.popgate || {}, { fmt });
})(typeof globalThis !== 'undefined' ? globalThis : this);
