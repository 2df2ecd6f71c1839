// SPDX-License-Identifier: GPL-2.0-or-later
// app.js - the popgate admin page: log in, watch relay authorizations and counters, revoke, add.
// Plain JavaScript, no framework, no external resources; talks only to the JSON API of
// docs/ADMIN-API.md. Text from the server is always set with textContent, never parsed as HTML.
'use strict';

(function () {
  const REFRESH_MS = 5000;
  const LISTS_EVERY = 12;             // refreshes between reloads of the permanent lists

  const state = {
    csrf: null,
    role: null,
    offset: 0,                        // server clock minus ours, seconds
    timer: null,
    ticks: 0,
    lastOk: 0,
    confirmIp: null,                  // the row whose Revoke was clicked once
    confirmUntil: 0,
    busy: false,
  };

  const $ = (id) => document.getElementById(id);

  // ---- the API ----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { 'Accept': 'application/json' };
    const opts = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'popgated cannot be reached');
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      let msg = (data && data.error) || ('HTTP ' + resp.status);
      if (resp.status === 429) {
        const wait = resp.headers.get('Retry-After');
        if (wait) msg += ' (' + fmtSpan(Number(wait)) + ')';
      }
      throw new ApiError(resp.status, msg);
    }
    return data;
  }

  // ---- formatting -------------------------------------------------------------------------

  function nowServer() {
    return Date.now() / 1000 + state.offset;
  }

  // fmtSpan - "12s", "5m", "2h 5m", "3d 4h": short enough for a phone.
  function fmtSpan(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + 's';
    const m = Math.floor(sec / 60);
    if (m < 60) return m + 'm';
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    const d = Math.floor(h / 24);
    return d + 'd' + (h % 24 ? ' ' + (h % 24) + 'h' : '');
  }

  function fmtAgo(epoch) {
    if (!epoch) return '–';
    const d = nowServer() - epoch;
    return d < 5 ? 'just now' : fmtSpan(d) + ' ago';
  }

  function fmtAbs(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleString() : '';
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function cell(tr, label, text, cls, title) {
    const td = el('td', text, cls);
    td.dataset.label = label;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }

  function showError(id, msg) {
    const e = $(id);
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  // ---- views ------------------------------------------------------------------------------

  function showLogin(msg) {
    stopRefresh();
    state.csrf = null;
    state.role = null;
    $('app-view').hidden = true;
    $('who').hidden = true;
    $('login-view').hidden = false;
    showError('login-error', msg);
    $('login-user').focus();
  }

  function showApp(session) {
    state.csrf = session.csrf;
    state.role = session.role;
    $('whoami').textContent = session.user;
    $('role').textContent = session.role;
    $('role').className = 'badge ' + session.role;
    $('login-view').hidden = true;
    $('who').hidden = false;
    $('app-view').hidden = false;
    $('add-form').hidden = session.role !== 'admin';
    document.body.classList.toggle('can-change', session.role === 'admin');
    if (!$('add-ttl').value && session.default_ttl) $('add-ttl').value = fmtTtl(session.default_ttl);
    state.ticks = 0;
    refresh();
    startRefresh();
  }

  function fmtTtl(sec) {
    if (sec % 86400 === 0) return sec / 86400 + 'd';
    if (sec % 3600 === 0) return sec / 3600 + 'h';
    if (sec % 60 === 0) return sec / 60 + 'm';
    return sec + 's';
  }

  // handle - what an API failure means for the page: a lost session goes back to the login.
  function handle(err, where) {
    if (err.status === 401) {
      showLogin('Your session has ended; please log in again.');
      return;
    }
    showError(where, err.message);
  }

  // ---- rendering --------------------------------------------------------------------------

  function renderRelays(data) {
    state.offset = data.now - Date.now() / 1000;
    const rows = $('relay-rows');
    const frag = document.createDocumentFragment();
    if (state.confirmIp && Date.now() > state.confirmUntil) state.confirmIp = null;
    for (const r of data.relays) {
      const tr = el('tr');
      tr.dataset.ip = r.ip;
      if (r.expired) tr.className = 'expired';
      cell(tr, 'IP', r.ip, 'ip');
      cell(tr, 'User', r.user || '—');
      cell(tr, 'Protocol', r.proto);
      cell(tr, 'First seen', fmtAgo(r.first), null, fmtAbs(r.first));
      cell(tr, 'Last login', fmtAgo(r.last), null, fmtAbs(r.last));
      cell(tr, 'Expires in', r.expired ? 'expired' : fmtSpan(r.expires - nowServer()), 'expires',
           fmtAbs(r.expires));
      cell(tr, 'Logins', r.logins, 'n');
      const act = cell(tr, '', '', 'act');
      if (state.role === 'admin') {
        const confirming = state.confirmIp === r.ip;
        const b = el('button', confirming ? 'Really revoke?' : 'Revoke', confirming ? 'danger confirm' : 'danger');
        b.type = 'button';
        b.dataset.ip = r.ip;
        b.setAttribute('aria-label', (confirming ? 'Confirm revoking ' : 'Revoke ') + r.ip);
        act.appendChild(b);
      }
      frag.appendChild(tr);
    }
    rows.replaceChildren(frag);
    $('relay-count').textContent = '(' + data.count + ')';
    $('relay-empty').hidden = data.relays.length > 0;
    const tr = $('relay-truncated');
    tr.hidden = !data.truncated;
    tr.textContent = data.truncated ? 'Showing ' + data.relays.length + ' of ' + data.count +
      '; search to narrow the list.' : '';
  }

  function setNum(id, v) {
    $(id).textContent = (v === undefined || v === null) ? '–' : Number(v).toLocaleString();
  }

  function renderStats(s) {
    const c = s.counters;
    setNum('c-sessions', c.sessions_active);
    setNum('c-logins-ok', c.logins_ok);
    setNum('c-logins-failed', c.logins_failed);
    setNum('c-relayed', c.msgs_relayed);
    setNum('c-denied', c.msgs_denied);
    setNum('c-refused', c.refused_limit);
    $('c-uptime').textContent = s.started ? fmtSpan(s.uptime) : '–';
    const frag = document.createDocumentFragment();
    // Admin actions (the audit trail) among the sessions' events, newest first, with who did them.
    const acts = (s.admin_events || []).map(a => ({
      time: a.time, proto: a.ip ? 'admin page' : 'popgatectl', ip: a.ip, user: a.actor,
      what: a.detail, admin: true }));
    const events = s.events.concat(acts).sort((x, y) => y.time - x.time).slice(0, 50);
    for (const e of events) {
      const tr = el('tr');
      if (!e.admin && /fail|denied|refused/.test(e.what)) tr.className = 'bad';
      if (e.admin) tr.className = 'admin-action';
      cell(tr, 'When', fmtAgo(e.time), null, fmtAbs(e.time));
      cell(tr, 'Service', e.proto);
      cell(tr, 'IP', e.ip || '—', 'ip');
      cell(tr, 'User', e.user || '—');
      cell(tr, 'What', e.what);
      frag.appendChild(tr);
    }
    $('event-rows').replaceChildren(frag);
    $('events-empty').hidden = events.length > 0;
  }

  function renderLists(l) {
    for (const [id, nets] of [['allow-list', l.allow], ['deny-list', l.deny]]) {
      const ul = $(id);
      const frag = document.createDocumentFragment();
      if (nets.length === 0) frag.appendChild(el('li', 'none', 'none'));
      for (const n of nets) frag.appendChild(el('li', n));
      ul.replaceChildren(frag);
    }
  }

  // ---- refreshing -------------------------------------------------------------------------

  async function refresh() {
    if (state.busy || !state.csrf) return;
    state.busy = true;
    try {
      const q = $('search').value.trim();
      const [relays, stats] = await Promise.all([
        api('GET', 'api/relays' + (q ? '?q=' + encodeURIComponent(q) : '')),
        api('GET', 'api/stats'),
      ]);
      renderRelays(relays);
      renderStats(stats);
      if (state.ticks++ % LISTS_EVERY === 0) renderLists(await api('GET', 'api/lists'));
      state.lastOk = Date.now();
      showError('app-error', null);
      setLive();
    } catch (err) {
      handle(err, 'app-error');
      setLive();
    } finally {
      state.busy = false;
    }
  }

  function setLive() {
    const live = $('live');
    const age = (Date.now() - state.lastOk) / 1000;
    const fresh = state.lastOk && age < 3 * REFRESH_MS / 1000;
    live.textContent = fresh ? 'live' : state.lastOk ? 'stale ' + fmtSpan(age) : 'offline';
    live.className = 'live ' + (fresh ? 'ok' : 'stale');
  }

  function startRefresh() {
    stopRefresh();
    state.timer = setInterval(refresh, REFRESH_MS);
  }

  function stopRefresh() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  // ---- actions ----------------------------------------------------------------------------

  async function onLogin(ev) {
    ev.preventDefault();
    $('login-submit').disabled = true;
    try {
      const s = await api('POST', 'api/login', {
        user: $('login-user').value.trim(),
        password: $('login-password').value,
      });
      $('login-password').value = '';
      showError('login-error', null);
      showApp(s);
    } catch (err) {
      showError('login-error', err.status === 401 ? 'Wrong user name or password.' : err.message);
    } finally {
      $('login-submit').disabled = false;
    }
  }

  async function onLogout() {
    try {
      await api('POST', 'api/logout');
    } catch (err) {
      // the session may already be gone; the login form is where we end up either way
    }
    showLogin(null);
  }

  async function onRelayClick(ev) {
    const b = ev.target.closest('button[data-ip]');
    if (!b) return;
    const ip = b.dataset.ip;
    if (state.confirmIp !== ip) {
      // First click arms the button; a second one within 5 s revokes.
      state.confirmIp = ip;
      state.confirmUntil = Date.now() + 5000;
      b.textContent = 'Really revoke?';
      b.classList.add('confirm');
      b.setAttribute('aria-label', 'Confirm revoking ' + ip);
      return;
    }
    state.confirmIp = null;
    b.disabled = true;
    try {
      await api('DELETE', 'api/relays/' + encodeURIComponent(ip));
      const tr = b.closest('tr');
      if (tr) tr.remove();
      showError('app-error', null);
      refresh();
    } catch (err) {
      b.disabled = false;
      handle(err, 'app-error');
    }
  }

  async function onAdd(ev) {
    ev.preventDefault();
    const ttlText = $('add-ttl').value.trim();
    const body = { ip: $('add-ip').value.trim(), ttl: /^\d+$/.test(ttlText) ? Number(ttlText) : ttlText };
    const user = $('add-user').value.trim();
    if (user) body.user = user;
    $('add-submit').disabled = true;
    try {
      const r = await api('POST', 'api/relays', body);
      $('add-ip').value = '';
      $('add-user').value = '';
      showError('add-error', r.decision === 'deny-list'
        ? r.relay.ip + ' is on the deny list: it still cannot relay.' : null);
      refresh();
    } catch (err) {
      handle(err, 'add-error');
    } finally {
      $('add-submit').disabled = false;
    }
  }

  let searchTimer = null;
  function onSearch() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refresh, 250);
  }

  async function start() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', onLogout);
    $('relay-rows').addEventListener('click', onRelayClick);
    $('add-form').addEventListener('submit', onAdd);
    $('search').addEventListener('input', onSearch);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && state.csrf) refresh();
    });
    setInterval(() => { if (state.csrf) setLive(); }, 1000);
    try {
      showApp(await api('GET', 'api/session'));
    } catch (err) {
      showLogin(err.status === 401 ? null : err.message);
    }
  }

  document.addEventListener('DOMContentLoaded', start);
})();
