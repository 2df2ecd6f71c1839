// SPDX-License-Identifier: GPL-2.0-or-later
// ui.js - the admin page's small building blocks: elements from text (never from HTML), table
// cells with their phone labels, the confirmation shown after each change, and the in-page
// "are you sure?" dialog for destructive actions (window.confirm would block the page and tests).
'use strict';

(function (pg) {
  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // cell - a td labelled LABEL (shown before the value when a row becomes a card on a phone).
  function cell(tr, label, text, cls, title) {
    const td = el('td', text, cls);
    td.dataset.label = label;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }

  // button - an action button carrying its target in data attributes.
  function button(text, cls, label, data) {
    const b = el('button', text, cls);
    b.type = 'button';
    b.setAttribute('aria-label', label);
    Object.assign(b.dataset, data);
    return b;
  }

  function showError(id, msg) {
    const e = $(id);
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  // notify - the line that says what the last change did, or why it failed; it stays until the
  // next one (with its time) so that nobody misses it while looking elsewhere.
  function notify(msg, failed) {
    const t = $('toast');
    const d = new Date();
    const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    $('toast-time').textContent = hms;
    $('toast-text').textContent = msg;
    t.className = 'toast ' + (failed ? 'failed' : 'done');
    t.setAttribute('role', failed ? 'alert' : 'status');
    t.hidden = false;
  }

  let pending = null;   // the resolve function of the open dialog

  // confirm - ask TEXT in the page's dialog; resolves true when OK (labelled OK_LABEL) is chosen.
  function confirm(text, okLabel) {
    const d = $('confirm');
    if (pending) pending(false);
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    return new Promise((resolve) => {
      pending = resolve;
      d.showModal();
      $('confirm-cancel').focus();
    });
  }

  function settle(answer) {
    const resolve = pending;
    pending = null;
    const d = $('confirm');
    if (d.open) d.close();
    if (resolve) resolve(answer);
  }

  function dialogOpen() {
    return pending !== null;
  }

  function init() {
    $('confirm-ok').addEventListener('click', () => settle(true));
    $('confirm-cancel').addEventListener('click', () => settle(false));
    $('confirm').addEventListener('cancel', () => settle(false));   // Escape
    $('toast-close').addEventListener('click', () => { $('toast').hidden = true; });
  }

  pg.ui = { $, el, cell, button, showError, notify, confirm, dialogOpen, init };
})(globalThis.popgate = globalThis.popgate || {});
