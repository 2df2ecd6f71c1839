// SPDX-License-Identifier: GPL-2.0-or-later
// app.js - the popgate admin page: log in, watch relay authorizations and counters, revoke, add,
// and keep every section live (helpdesk.js has lockouts, the check, blocks and the audit trail).
// Plain JavaScript, no framework, no external resources; talks only to the JSON API of
// docs/ADMIN-API.md. Text from the server is always set with textContent, never parsed as HTML.
'use strict';

(function (pg) {
  const REFRESH_MS = 5000;
  const LISTS_EVERY = 12;             // refreshes between reloads of the permanent lists
  const { $, el, cell, button, showError, notify, confirm } = pg.ui;
  const fmt = pg.fmt;

  const state = {
    csrf: null,
    role: null,
    offset: 0,                        // server clock minus ours, seconds
    timer: null,
    ticks: 0,
    lastOk: 0,
    busy: false,
    again: false,                     // a refresh was asked for while one was running
  };

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

  const fmtSpan = fmt.span;

  // ---- views ------------------------------------------------------------------------------

  function showLogin(msg) {
    stopRefresh();
    state.csrf = null;
    state.role = null;
    pg.helpdesk.reset();
    $('toast').hidden = true;         // the last change was someone else's business
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

  // fail - a change that did not happen: say so where the confirmations appear.
  function fail(err, what) {
    if (err.status === 401) {
      showLogin('Your session has ended; please log in again.');
      return;
    }
    notify(what + ': ' + err.message, true);
  }

  // ---- rendering --------------------------------------------------------------------------

  function renderRelays(data) {
    state.offset = data.now - Date.now() / 1000;
    const now = data.now;
    const frag = document.createDocumentFragment();
    for (const r of fmt.byAddr(data.relays)) {
      const tr = el('tr');
      tr.dataset.ip = r.ip;
      if (r.expired) tr.className = 'expired';
      cell(tr, 'IP', r.ip, 'ip');
      cell(tr, 'User', r.user || '—');
      cell(tr, 'How', fmt.protoWords(r.proto), 'proto', r.proto);
      cell(tr, 'First seen', fmt.when(r.first, now));
      cell(tr, 'Last login', fmt.when(r.last, now));
      cell(tr, 'Expires', r.expired ? 'expired ' + fmt.when(r.expires, now) : fmt.when(r.expires, now), 'expires');
      cell(tr, 'Logins', r.logins, 'n');
      const act = cell(tr, '', '', 'act');
      if (state.role === 'admin') act.appendChild(button('Revoke', 'danger', 'Revoke ' + r.ip, { ip: r.ip }));
      frag.appendChild(tr);
    }
    $('relay-rows').replaceChildren(frag);
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
    $('c-uptime').title = s.started ? 'since ' + fmt.when(s.started, s.now) : '';
    const frag = document.createDocumentFragment();
    // Admin actions (the audit trail) among the sessions' events, newest first, with who did them.
    const acts = (s.admin_events || []).map((a) => ({
      time: a.time, proto: a.ip ? 'admin page' : 'popgatectl', ip: a.ip, user: a.actor,
      what: a.detail, admin: true }));
    const events = s.events.concat(acts).sort((x, y) => y.time - x.time).slice(0, 50);
    for (const e of events) {
      const tr = el('tr');
      if (!e.admin && /fail|denied|refused/.test(e.what)) tr.className = 'bad';
      if (e.admin) tr.className = 'admin-action';
      cell(tr, 'When', fmt.when(e.time, s.now));
      cell(tr, 'Service', fmt.serviceWords(e.proto));
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

  // refresh - every section from the API; one asked for while another runs follows it at once,
  // so that a change shows without waiting for the next tick.
  async function refresh() {
    if (!state.csrf) return;
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    try {
      const q = $('search').value.trim();
      const [relays, stats] = await Promise.all([
        api('GET', 'api/relays' + (q ? '?q=' + encodeURIComponent(q) : '')),
        api('GET', 'api/stats'),
        pg.helpdesk.refresh(),
      ]);
      renderRelays(relays);
      renderStats(stats);
      if (state.ticks++ % LISTS_EVERY === 0) renderLists(await api('GET', 'api/lists'));
      state.lastOk = Date.now();
      document.body.dataset.refreshes = Number(document.body.dataset.refreshes || 0) + 1;   // for tests/e2e
      showError('app-error', null);
    } catch (err) {
      handle(err, 'app-error');
    } finally {
      state.busy = false;
      setLive();
    }
    if (state.again) {
      state.again = false;
      refresh();
    }
  }

  // editing - whether the helpdesk is typing in a form or answering the dialog: live updates
  // wait, so that nothing moves under the pointer.
  function editing() {
    const a = document.activeElement;
    const typing = a && a.matches('form.pause-live input:not([type=checkbox])') && a.value !== '';
    return typing || pg.ui.dialogOpen();
  }

  function tick() {
    if (editing()) {
      setLive();
      return;
    }
    refresh();
  }

  function setLive() {
    const live = $('live');
    const age = (Date.now() - state.lastOk) / 1000;
    const fresh = state.lastOk && age < 3 * REFRESH_MS / 1000;
    if (editing()) {
      live.textContent = 'paused while you edit';
    } else {
      live.textContent = fresh ? 'live' : state.lastOk ? 'stale ' + fmtSpan(age) : 'offline';
    }
    live.className = 'live ' + (fresh ? 'ok' : 'stale');
    live.title = state.lastOk ? 'last refresh ' + fmt.when(state.lastOk / 1000, Date.now() / 1000) : '';
  }

  function startRefresh() {
    stopRefresh();
    state.timer = setInterval(tick, REFRESH_MS);
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
    const ok = await confirm('Revoke the relay authorization of ' + ip + '? SMTP refuses to relay for it ' +
                             'from its next command on, until its next POP login.', 'Revoke ' + ip);
    if (!ok) return;
    b.disabled = true;
    try {
      await api('DELETE', 'api/relays/' + encodeURIComponent(ip));
      const tr = b.closest('tr');
      if (tr) tr.remove();
      notify('Revoked the relay authorization of ' + ip + '.');
    } catch (err) {
      b.disabled = false;
      fail(err, 'Could not revoke ' + ip);
    }
    refresh();
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
      const denied = r.decision === 'deny-list';
      showError('add-error', denied ? r.relay.ip + ' is on the deny list: it still cannot relay.' : null);
      notify('Authorized ' + r.relay.ip + ' by hand until ' + fmt.when(r.relay.expires, nowServer()) +
             (denied ? ', but it is on the deny list: it still cannot relay.' : '.'), denied);
    } catch (err) {
      if (err.status !== 401) showError('add-error', err.message);
      fail(err, 'Could not authorize ' + body.ip);
    } finally {
      $('add-submit').disabled = false;
    }
    refresh();
  }

  let searchTimer = null;
  function onSearch() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refresh, 250);
  }

  async function start() {
    pg.ui.init();
    pg.helpdesk.init();
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

  pg.app = { api, handle, fail, refresh, role: () => state.role, now: nowServer };
  document.addEventListener('DOMContentLoaded', start);
})(globalThis.popgate = globalThis.popgate || {});
