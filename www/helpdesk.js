// SPDX-License-Identifier: GPL-2.0-or-later
// helpdesk.js - the admin page's answers to the helpdesk's calls: failed-login lockouts and
// penalties (unlock), "why can't I send?" (GET /api/check, in popgatectl check's words), blocked
// accounts (block, unblock) and the audit trail. Uses app.js's pg.app for the API and refreshes.
'use strict';

(function (pg) {
  const { $, el, cell, button, showError, notify, confirm } = pg.ui;
  const fmt = pg.fmt;
  const AUDIT_SHOWN = 100;            // rows of the trail on the page; the API keeps 500

  const state = {
    check: null,                      // the last look-up {ip, user}, asked again at each refresh
    lockouts: [],
  };

  const isAdmin = () => pg.app.role() === 'admin';
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

  // ---- lockouts and penalties -------------------------------------------------------------

  function lockoutState(r) {
    if (r.state === 'locked out') return 'locked out: every login from this address is refused';
    if (r.state === 'penalty') return 'penalty: its next login waits ' + fmt.span(r.delay);
    return r.state;
  }

  function renderLockouts(data) {
    const now = data.now;
    const rows = fmt.byAddr(data.lockouts);
    const frag = document.createDocumentFragment();
    state.lockouts = rows;
    for (const r of rows) {
      const tr = el('tr', null, r.state === 'locked out' ? 'locked' : 'penalty');
      tr.dataset.ip = r.ip;
      tr.dataset.user = r.user;
      cell(tr, 'IP', r.ip, 'ip');
      cell(tr, 'User', r.user || '—');
      cell(tr, 'Failures', r.failures, 'n');
      cell(tr, 'State', lockoutState(r), 'state');
      cell(tr, 'Since', fmt.when(r.since, now));
      cell(tr, 'Until', fmt.when(r.until, now));
      const act = cell(tr, '', '', 'act');
      if (isAdmin()) act.appendChild(button('Unlock', 'danger', 'Unlock ' + r.ip, { unlock: r.ip }));
      frag.appendChild(tr);
    }
    $('lockout-rows').replaceChildren(frag);
    $('lockout-count').textContent = '(' + rows.length + ')';
    $('lockout-empty').hidden = rows.length > 0;
    $('lockout-help').textContent = 'Each failed login slows that user name\'s next attempts from the same ' +
      'address; after ' + data.max_failures + ' failed logins of all its users an address is locked out.';
    showError('lockout-error', null);
  }

  async function onLockoutClick(ev) {
    const b = ev.target.closest('button[data-unlock]');
    if (!b) return;
    const ip = b.dataset.unlock;
    const users = state.lockouts.filter((r) => r.ip === ip).length;
    const ok = await confirm('Unlock ' + ip + '? Its failed logins (' + plural(users, 'user name', 'user names') +
                             ') are forgotten: logins from it work again at once.', 'Unlock ' + ip);
    if (!ok) return;
    b.disabled = true;
    try {
      const r = await pg.app.api('DELETE', 'api/lockouts/' + encodeURIComponent(ip));
      notify('Unlocked ' + r.unlocked + ': the failed logins of ' + plural(r.cleared, 'user name', 'user names') +
             ' are forgotten.');
    } catch (err) {
      pg.app.fail(err, 'Could not unlock ' + ip);
    }
    pg.app.refresh();
  }

  // ---- why can't I send? ------------------------------------------------------------------

  function renderCheck(r) {
    const v = $('check-verdict');
    if ('allowed' in r) {
      v.textContent = (r.allowed ? 'Can relay' : 'Cannot relay') + ' (' + r.decision + ')';
      v.className = 'verdict ' + (r.allowed ? 'ok' : 'bad');
    } else {
      v.textContent = r.block ? 'Account blocked' : 'Account not blocked';
      v.className = 'verdict ' + (r.block ? 'bad' : 'ok');
    }
    const frag = document.createDocumentFragment();
    for (const line of r.lines) frag.appendChild(el('li', line));
    $('check-lines').replaceChildren(frag);
    $('check-asof').textContent = 'As of ' + fmt.absolute(r.now, r.now) +
      ', kept up to date while shown. popgatectl check prints the same lines.';
    $('check-result').hidden = false;
  }

  // runCheck - ask the look-up again; an answer overtaken by a newer question is dropped.
  async function runCheck() {
    const asked = state.check;
    const q = new URLSearchParams();
    if (asked.ip) q.set('ip', asked.ip);
    if (asked.user) q.set('user', asked.user);
    const r = await pg.app.api('GET', 'api/check?' + q.toString());
    if (state.check !== asked) return;
    renderCheck(r);
    showError('check-error', null);
  }

  async function onCheck(ev) {
    ev.preventDefault();
    const ip = $('check-ip').value.trim();
    const user = $('check-user').value.trim();
    if (!ip && !user) {
      showError('check-error', 'Give an IP address, a user name or both.');
      return;
    }
    state.check = { ip, user };
    $('check-submit').disabled = true;
    try {
      await runCheck();
      document.activeElement.blur();   // the answer now follows live updates again
    } catch (err) {
      state.check = null;
      $('check-result').hidden = true;
      pg.app.handle(err, 'check-error');
    } finally {
      $('check-submit').disabled = false;
    }
  }

  // ---- blocked accounts -------------------------------------------------------------------

  function renderBlocks(data) {
    const now = data.now;
    const rows = data.blocks.slice().sort((x, y) => (x.user < y.user ? -1 : x.user > y.user ? 1 : 0));
    const frag = document.createDocumentFragment();
    for (const b of rows) {
      const tr = el('tr');
      tr.dataset.user = b.user;
      cell(tr, 'User', b.user, 'user');
      cell(tr, 'Since', fmt.when(b.since, now));
      cell(tr, 'Until', b.until ? fmt.when(b.until, now) : 'until lifted');
      cell(tr, 'POP logins', b.pop ? 'refused' : 'allowed, but no relaying');
      cell(tr, 'By', b.by || '—');
      cell(tr, 'Note', b.note || '—', 'note');
      const act = cell(tr, '', '', 'act');
      if (isAdmin()) act.appendChild(button('Unblock', 'danger', 'Unblock ' + b.user, { unblock: b.user }));
      frag.appendChild(tr);
    }
    $('block-rows').replaceChildren(frag);
    $('block-count').textContent = '(' + rows.length + ')';
    $('block-empty').hidden = rows.length > 0;
    showError('blocks-error', null);
  }

  function blockWords(b, now) {
    return b.until ? 'until ' + fmt.when(b.until, now) : 'until lifted';
  }

  async function onBlock(ev) {
    ev.preventDefault();
    const user = $('block-user').value.trim();
    const forever = $('block-forever').checked;
    const duration = $('block-duration').value.trim();
    const pop = $('block-pop').checked;
    if (!forever && !duration) {
      showError('block-error', 'Say for how long (90m, 2h, 1d) or tick "for good".');
      return;
    }
    showError('block-error', null);
    const ok = await confirm('Block ' + user + (forever ? ' until lifted' : ' for ' + duration) + '? ' +
      (pop ? 'Its POP logins are refused, ' : 'Its POP logins stop authorizing relaying, ') +
      'its current authorizations are revoked and its SMTP AUTH is refused.', 'Block ' + user);
    if (!ok) return;
    const body = { user, duration: forever ? 'forever' : (/^\d+$/.test(duration) ? Number(duration) : duration), pop };
    const note = $('block-note').value.trim();
    if (note) body.note = note;
    $('block-submit').disabled = true;
    try {
      const r = await pg.app.api('POST', 'api/blocks', body);
      for (const id of ['block-user', 'block-duration', 'block-note']) $(id).value = '';
      $('block-forever').checked = $('block-pop').checked = false;
      $('block-duration').disabled = false;
      const what = 'Blocked ' + r.block.user + ' ' + blockWords(r.block, pg.app.now());
      if (r.revoked < 0)
        notify(what + ', but its authorizations could not be revoked (relay database unreachable): block again.', true);
      else
        notify(what + '; ' + plural(r.revoked, 'authorization', 'authorizations') + ' revoked.');
    } catch (err) {
      if (err.status !== 401) showError('block-error', err.message);
      pg.app.fail(err, 'Could not block ' + user);
    } finally {
      $('block-submit').disabled = false;
    }
    pg.app.refresh();
  }

  async function onBlocksClick(ev) {
    const b = ev.target.closest('button[data-unblock]');
    if (!b) return;
    const user = b.dataset.unblock;
    const ok = await confirm('Unblock ' + user + '? Its next POP login authorizes relaying again.', 'Unblock ' + user);
    if (!ok) return;
    b.disabled = true;
    try {
      await pg.app.api('DELETE', 'api/blocks/' + encodeURIComponent(user));
      notify('Unblocked ' + user + ': its next POP login authorizes relaying again.');
    } catch (err) {
      pg.app.fail(err, 'Could not unblock ' + user);
    }
    pg.app.refresh();
  }

  // ---- the audit trail --------------------------------------------------------------------

  function renderAudit(data) {
    const now = data.now;
    const frag = document.createDocumentFragment();
    for (const a of data.entries.slice(0, AUDIT_SHOWN)) {
      const tr = el('tr', null, 'action-' + a.action);
      cell(tr, 'When', fmt.when(a.time, now));
      cell(tr, 'Who', a.actor, 'who');
      cell(tr, 'From', a.ip || 'on the server', 'ip');
      cell(tr, 'Did', fmt.actionWords(a.action));
      cell(tr, 'What', a.detail, 'detail');
      frag.appendChild(tr);
    }
    $('audit-rows').replaceChildren(frag);
    $('audit-empty').hidden = data.entries.length > 0;
    showError('audit-error', data.entries.length > AUDIT_SHOWN
      ? 'Showing the latest ' + AUDIT_SHOWN + ' of ' + data.entries.length + ' (GET /api/audit has them all).' : null);
  }

  // ---- refreshing -------------------------------------------------------------------------

  // part - fetch one section; its failure is shown in that section, a lost session everywhere.
  async function part(path, render, errId) {
    try {
      render(await pg.app.api('GET', path));
    } catch (err) {
      if (err.status === 401) throw err;
      showError(errId, err.message);
    }
  }

  // refresh - every section of this file, and the shown look-up asked again.
  async function refresh() {
    const jobs = [part('api/lockouts', renderLockouts, 'lockout-error'),
                  part('api/blocks', renderBlocks, 'blocks-error'),
                  part('api/audit', renderAudit, 'audit-error')];
    if (state.check) jobs.push(runCheck().catch((err) => {
      if (err.status === 401) throw err;
      showError('check-error', err.message);
    }));
    await Promise.all(jobs);
  }

  function reset() {
    state.check = null;
    $('check-result').hidden = true;
  }

  function init() {
    $('lockout-rows').addEventListener('click', onLockoutClick);
    $('block-rows').addEventListener('click', onBlocksClick);
    $('check-form').addEventListener('submit', onCheck);
    $('block-form').addEventListener('submit', onBlock);
    $('block-forever').addEventListener('change', () => {
      $('block-duration').disabled = $('block-forever').checked;
    });
  }

  pg.helpdesk = { init, refresh, reset };
})(globalThis.popgate = globalThis.popgate || {});
