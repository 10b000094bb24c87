// The session monitor's behaviour on top of htmx: conditional polling, row selection,
// confirm dialog, context menu and hotkeys. The page lists, searches and pages without it.
(function () {
  'use strict';
  var doc = document;
  // A history restore swaps the body and runs this script again: the listeners are on document already.
  if (doc.documentElement.hasAttribute('data-monitor')) return;
  doc.documentElement.setAttribute('data-monitor', '');
  doc.documentElement.classList.add('js');

  var root = doc.getElementById('monitor');
  var etag = (root && root.getAttribute('data-etag')) || null; // validator of what #monitor-live shows now
  var paused = false;
  var selectedKey = null; // selector of the selected row, re-applied after every refresh
  var focusMemo = null;

  function live() { return doc.getElementById('monitor-live'); }
  function dialog() { return doc.getElementById('monitor-dialog'); }
  function menu() { return doc.getElementById('monitor-menu'); }
  // The query the live part shows, as the server wrote it: links and actions start from it.
  function current() { var l = live(); return new URL(l ? l.getAttribute('hx-get') : '/monitor', location.href); }
  function base() { return current().pathname; }
  function query() { return current().search.slice(1); }
  function esc(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&'); }
  function intoLive(ctx) { return ctx.target && ctx.target.id === 'monitor-live'; }

  // --- refresh: If-None-Match from the last answer, X-Auto-Refresh on the timer's polls ---
  function isPoll(ctx) { return !!(ctx.sourceEvent && ctx.sourceEvent.type === 'every'); }
  function inDialog(ctx) { var s = ctx.sourceElement; return !!(s && s.closest && s.closest('#monitor-dialog')); }
  var liveReq = null; // the live part's own request (timer or refresh) on its way: one at a time, none queued behind a slow one

  doc.addEventListener('htmx:config:request', function (e) {
    var ctx = e.detail.ctx;
    // A confirmed action on its way is not sent twice (a second click or Enter while the link is slow).
    var form = inDialog(ctx) && ctx.sourceElement.closest('form');
    if (form && form.getAttribute('aria-busy') === 'true') { e.preventDefault(); return; }
    if (!intoLive(ctx)) return;
    var poll = isPoll(ctx);
    if (poll && (paused || doc.hidden)) { e.preventDefault(); return; }
    if (liveReq && liveReq.sourceElement === ctx.sourceElement && (poll || ctx.sourceEvent.type === 'monitor-refresh')) { e.preventDefault(); return; }
    if (poll) ctx.request.headers['X-Auto-Refresh'] = '1';
    if (ctx.request.method === 'GET') {
      var body = ctx.request.body; // empty filters stay out of the URL
      if (body && body.keys) Array.from(body.keys()).forEach(function (k) { if (body.get(k) === '') body.delete(k); });
    }
  });

  // Just before sending (after htmx's queue): the validator is the newest one then.
  doc.addEventListener('htmx:before:request', function (e) {
    var ctx = e.detail.ctx;
    if (inDialog(ctx)) {
      var form = ctx.sourceElement.closest('form');
      if (form) { form.setAttribute('aria-busy', 'true'); ctx.busyEl = form; }
      return;
    }
    if (!intoLive(ctx)) return;
    if (ctx.sourceElement === ctx.target) liveReq = ctx;
    if (ctx.request.method === 'GET' && etag) ctx.request.headers['If-None-Match'] = etag;
    if (!isPoll(ctx)) { ctx.target.setAttribute('aria-busy', 'true'); ctx.busyEl = ctx.target; } // the user asked: show it is on its way
  });

  doc.addEventListener('htmx:finally:request', function (e) {
    var ctx = e.detail.ctx;
    if (!ctx) return;
    if (liveReq === ctx) liveReq = null;
    if (ctx.busyEl) ctx.busyEl.removeAttribute('aria-busy');
  });

  // --- the link: while the live part cannot be refreshed, say so and keep the last good table ---
  var goodAt = Date.now(); // when the server last answered the live part
  function linkBox() { return doc.getElementById('monitor-link'); }
  function asOf() {
    var box = linkBox(), tz = box && box.getAttribute('data-tz');
    var opts = { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
    if (tz) opts.timeZone = tz;
    try { return new Intl.DateTimeFormat(doc.documentElement.lang || undefined, opts).format(goodAt); } catch (err) { return new Date(goodAt).toLocaleTimeString(); }
  }
  // state: null (all well), 'lost' (no answer) or an HTTP status; the notice changes only when its words do.
  function showLink(state) {
    var box = linkBox();
    if (!box) return;
    var text = state === null ? '' : (box.getAttribute(state === 'lost' ? 'data-lost' : 'data-failed') || '').replace('{time}', asOf()).replace('{status}', String(state));
    if (box.textContent !== text) box.textContent = text;
  }
  // An action from the confirm dialog that got no good answer: say so there, keep the form to try again.
  function dialogError(ctx, status) {
    var form = ctx.sourceElement.closest('form'), box = linkBox();
    if (!form || !box) return;
    var p = form.querySelector('p[data-link-error]');
    if (!p) {
      p = doc.createElement('p');
      p.className = 'msg error';
      p.setAttribute('role', 'alert');
      p.setAttribute('data-link-error', '');
      form.insertBefore(p, form.querySelector('p.buttons'));
    }
    p.textContent = status === 'lost' ? box.getAttribute('data-action') : (box.getAttribute('data-action-failed') || '').replace('{status}', String(status));
  }

  // No answer at all (the server is down, the link dropped, the 20 s timeout).
  doc.addEventListener('htmx:error', function (e) {
    var ctx = e.detail.ctx;
    if (!ctx || !ctx.sourceElement) return;
    if (inDialog(ctx) && ctx.request.method !== 'GET') dialogError(ctx, 'lost');
    if (intoLive(ctx) || inDialog(ctx) || (ctx.target && ctx.target.id === 'monitor-dialog')) showLink('lost');
  });

  doc.addEventListener('htmx:after:request', function (e) {
    var ctx = e.detail.ctx;
    if (!ctx.response) return;
    var status = ctx.response.status;
    // Signed out meanwhile (HX-Redirect to the login page): come back to this view after signing in.
    if (status === 401 && ctx.hx && ctx.hx.redirect === '/login') ctx.hx.redirect = '/login?next=' + encodeURIComponent(base() + (query() ? '?' + query() : ''));
    if (intoLive(ctx) && !(ctx.hx && ctx.hx.redirect)) {
      var get = ctx.request.method === 'GET';
      // An answer the user asked for lands even if a refresh replaced the part meanwhile (htmx drops answers to a
      // removed target); a refresh's answer to a replaced part is old news and is dropped.
      if (!ctx.target.isConnected && !isPoll(ctx) && live()) ctx.target = live();
      // Only a live part replaces the live part: an error page, a proxy's or a login page would end the refreshing.
      var foreign = status === 200 && get && ctx.text.indexOf('id="monitor-live"') < 0;
      if (status >= 400 || foreign) {
        if (get) { ctx.swap = 'none'; showLink(status); } else if (status >= 500) { ctx.swap = 'none'; if (inDialog(ctx)) dialogError(ctx, status); }
      } else { goodAt = Date.now(); showLink(null); }
    }
    // A 304 may carry a newer validator for the same content (the marker moved, the view did not).
    if (intoLive(ctx) && ctx.target.isConnected && (status === 200 || status === 304)) etag = ctx.response.headers.get('ETag') || etag;
    var src = ctx.sourceElement;
    if (status < 300 && src && src.closest && src.closest('#monitor-dialog') && dialog().open) closeDialog();
  });

  // A refresh of what the page shows leaves the rows' settled cells out (#monitor-live[data-keep]):
  // put back the ones shown, row by row, if what is shown is what the server counted on (data-rows).
  function restoreKept(fresh) {
    var old = live();
    if (!old || old.getAttribute('data-rows') !== fresh.getAttribute('data-rows')) return false;
    var was = old.querySelectorAll('#monitor-sessions > tbody > tr[data-session-id][tabindex]:not([data-package-id])');
    var now = fresh.querySelectorAll('tr[data-k]');
    if (was.length !== now.length) return false;
    for (var i = 0; i < now.length; i++) {
      var o = was[i], n = now[i];
      if (o.cells.length !== n.cells.length) return false;
      for (var j = 0; j < n.cells.length; j++) {
        if (n.cells[j].hasAttribute('data-k')) n.replaceChild(o.cells[j].cloneNode(true), n.cells[j]);
      }
      n.removeAttribute('data-k');
      n.setAttribute('data-session-id', o.getAttribute('data-session-id'));
      n.setAttribute('tabindex', '-1');
    }
    fresh.removeAttribute('data-keep');
    return true;
  }

  doc.addEventListener('htmx:before:swap', function (e) {
    var ctx = e.detail.ctx;
    if (!intoLive(ctx)) return;
    var task = e.detail.tasks && e.detail.tasks[0];
    var fresh = task && task.fragment && task.fragment.querySelector && task.fragment.querySelector('#monitor-live[data-keep]');
    if (fresh && !restoreKept(fresh)) {
      // Not what the server thought this page shows: ask for everything.
      e.preventDefault();
      etag = null;
      setTimeout(refresh, 0); // after this request has finished
      return;
    }
    // The done notice of an action: read out from the permanent region (announce), so not from the one swapped in.
    var notice = task && task.fragment && task.fragment.querySelector && task.fragment.querySelector('#monitor-live > p.msg[role=status]');
    noticeText = null;
    if (notice && saidBox()) { notice.removeAttribute('role'); noticeText = notice.textContent.trim(); }
    var a = doc.activeElement, l = live();
    focusMemo = a && l && l.contains(a) ? focusMark(a) : null;
    var sel = selectedRow();
    selMemo = sel ? { key: selectedKey, near: nearKeys(sel) } : null;
  });

  // --- focus found again by what it was on (a row's key, a header's place), not by the element a refresh replaced ---
  var FOCUSABLE = 'a[href],button,input:not([type=hidden]),select,textarea,[tabindex]';
  var selMemo = null; // the selected row and its neighbours before a swap: one of them takes over when it goes
  // The rows after a row, then those before it, nearest first: where the focus goes when the row goes.
  function nearKeys(tr) {
    var tb = tr.closest('table'), rows = tb ? Array.prototype.slice.call(tb.querySelectorAll(ROWS)) : [], i = rows.indexOf(tr);
    if (i < 0) return [];
    return rows.slice(i + 1).concat(rows.slice(0, i).reverse()).map(rowKey).filter(Boolean);
  }
  function focusMark(a) {
    var l = live();
    if (!a || a === doc.body) return null;
    if (!l || !l.contains(a)) return { el: a };
    var tr = a.closest('tr'), tb = tr && tr.closest('table'), th = a.closest('thead th');
    return {
      row: tr && !th ? rowKey(tr) : null,
      near: tr && !th ? nearKeys(tr) : [],
      // A header's controls have no key of their own; sorting keeps the columns, so their place names them.
      head: th && tb && tb.id ? '#' + tb.id + ' > thead > tr:nth-child(' + (tr.sectionRowIndex + 1) + ') > th:nth-child(' + (th.cellIndex + 1) + ') > ' + (a.classList.contains('flt') ? 'a.flt' : 'a:not(.flt)') : null,
      table: tb && tb.id,
      part: a.classList.contains('tg') ? '.tg' : a.classList.contains('ib') ? '.ib' : null,
      index: Array.prototype.indexOf.call(l.querySelectorAll(FOCUSABLE), a),
    };
  }
  function usable(el) { return !!(el && el.isConnected && !el.disabled && el.getClientRects().length); }
  // Focuses what a mark describes, or the nearest thing left of it; says whether the mark's row went.
  function focusBack(m) {
    var l = live(), el = null, moved = false;
    if (!m) return null;
    if (m.el && usable(m.el)) el = m.el;
    if (!el && l && m.row) { el = l.querySelector(m.row); if (el && m.part) el = el.querySelector(m.part); }
    if (!el && l && m.head) el = l.querySelector(m.head);
    if (!el && l && m.near) for (var i = 0; i < m.near.length && !el; i++) { el = l.querySelector(m.near[i]); moved = !!el; }
    if (!el && m.row && m.table) el = tabStop(doc.getElementById(m.table));
    if (!el && l && m.index >= 0) el = l.querySelectorAll(FOCUSABLE)[m.index];
    if (el) el.focus({ preventScroll: true });
    return el ? { el: el, moved: moved } : null;
  }

  // Rows carry aria-expanded only when true (bytes); the toggles work with this script only, so it says "false".
  function markToggles() {
    doc.querySelectorAll('#monitor-live button.tg:not([aria-expanded]), #monitor-live button.ib:not([aria-expanded])').forEach(function (b) {
      b.setAttribute('aria-expanded', 'false');
    });
  }

  doc.addEventListener('htmx:after:swap', function (e) {
    var r = doc.getElementById('monitor'); // a history restore brings a whole new page and its validator
    if (r && r !== root) { root = r; etag = r.getAttribute('data-etag') || null; }
    syncBack();
    markToggles();
    var l = live();
    if (!l) return;
    var ctx = e.detail && e.detail.ctx;
    var row = selectedKey && l.querySelector(selectedKey);
    var wasSel = selMemo && selMemo.key === selectedKey ? selMemo : null;
    selMemo = null;
    if (row) row.setAttribute('aria-selected', 'true'); else selectedKey = null;
    // The selected row went with an action of this page (closed, terminated): its neighbour is selected instead.
    if (!row && wasSel && ctx && inDialog(ctx)) {
      for (var i = 0; i < wasSel.near.length && !row; i++) row = l.querySelector(wasSel.near[i]);
      if (row) select(row);
    }
    rove();
    if (focusMemo) {
      // The focused row is gone (closed, paged away): its neighbour takes the focus, and the selection if it had it.
      var back = focusBack(focusMemo);
      if (back && back.moved && wasSel && wasSel.key === focusMemo.row) select(back.el);
      focusMemo = null;
    }
    updateActions();
    var d = dialog(), a = doc.activeElement;
    // The action's target is gone meanwhile (the dialog says so): the table behind it is refreshed to show it.
    var gone = d && d.querySelector('[data-gone]');
    if (gone) { gone.removeAttribute('data-gone'); refresh(); }
    // An answer into the open dialog replaced what had the focus there: its first control takes it.
    if (d && d.open) {
      if (!d.contains(a)) focusFirst(d);
    } else if (ctx && inDialog(ctx) && (!a || a === doc.body || a.disabled)) {
      // After a confirmed action the dialog gave the focus back to what opened it: a button now disabled
      // (its row is gone) or nothing. The table's Tab stop (the selected row) takes it then.
      var stop = tabStop(doc.getElementById('monitor-sessions'));
      if (stop) stop.focus({ preventScroll: true });
    }
    if (noticeText) { announce(noticeText); noticeText = null; }
  });
  function focusFirst(d) {
    var first = d.querySelector('textarea, button:not([disabled]), a[href]');
    if (first) first.focus();
  }

  // --- done notices: said in a status region that is always there (#monitor-said) ---
  var noticeText = null;
  function saidBox() { return doc.getElementById('monitor-said'); }
  function announce(text) {
    var box = saidBox();
    if (!box) return;
    box.textContent = ''; // the same words again are news again
    setTimeout(function () { box.textContent = text; }, 50);
  }

  // --- roving tabindex: each table of rows is one Tab stop (its selected row, else its first), arrows move ---
  // The server renders every row tabindex="-1" (refreshes stay small): the Tab stop is set here, after each swap.
  var ROWS = ':scope > tbody > tr[tabindex]';
  function tabStop(tb) {
    return tb ? tb.querySelector(':scope > tbody > tr[tabindex="0"]') || tb.querySelector(ROWS) : null;
  }
  // Focusing a row wider than its scrolling box scrolls the box to the row's far end: bring back its first
  // cell, which names the row (the user, the package).
  doc.addEventListener('focusin', function (e) {
    var tr = e.target instanceof Element && e.target.matches('#monitor-live tr[tabindex]') ? e.target : null;
    // The focused row is the selection (what Delete, the menu key and the toolbar act on): selection follows focus.
    if (tr && rowKey(tr) !== selectedKey) select(tr);
    var w = tr && tr.closest('.table-wrap');
    if (w && w.scrollLeft > 0 && tr.cells.length) setTimeout(function () { tr.cells[0].scrollIntoView({ block: 'nearest', inline: 'nearest' }); }, 0);
  });
  function rove() {
    var l = live();
    if (!l) return;
    var sel = selectedRow();
    l.querySelectorAll('table.mon').forEach(function (tb) {
      var rows = tb.querySelectorAll(ROWS);
      if (!rows.length) return;
      var stop = sel && sel.closest('table') === tb ? sel : rows[0];
      for (var i = 0; i < rows.length; i++) {
        var tr = rows[i], on = tr === stop;
        if (tr.getAttribute('tabindex') !== (on ? '0' : '-1')) tr.setAttribute('tabindex', on ? '0' : '-1');
        // A row's own buttons and links are Tab stops in the Tab-stop row only: Tab goes row, its controls, on.
        tr.querySelectorAll('a[href], button').forEach(function (c) {
          if (on) c.removeAttribute('tabindex'); else if (c.getAttribute('tabindex') !== '-1') c.setAttribute('tabindex', '-1');
        });
      }
    });
  }

  doc.addEventListener('visibilitychange', function () { if (!doc.hidden && !paused) refresh(); });

  function refresh() { var l = live(); if (l) htmx.trigger(l, 'monitor-refresh'); }

  // Forms outside the refreshing part post the current query along ("back").
  function syncBack() {
    var q = query();
    doc.querySelectorAll('.mon-bar input[name=back]').forEach(function (i) { i.value = q; });
  }

  // --- selection ---
  function rowKey(tr) {
    var d = tr.dataset;
    if (d.packageId) return 'tr[data-session-id="' + esc(d.sessionId) + '"][data-package-id="' + esc(d.packageId) + '"]';
    if (d.sharedPath) return 'tr[data-host-id="' + esc(d.hostId) + '"][data-shared-path="' + esc(d.sharedPath) + '"]';
    if (d.poolId) return 'tr[data-pool-id="' + esc(d.poolId) + '"]';
    if (d.sessionId && tr.hasAttribute('tabindex')) return 'tr[data-session-id="' + esc(d.sessionId) + '"][tabindex]:not([data-package-id])';
    return null;
  }
  function selectedRow() { var l = live(); return selectedKey && l ? l.querySelector(selectedKey) : null; }
  function select(tr, focus) {
    var key = tr && rowKey(tr);
    if (!key) return;
    var old = selectedRow();
    if (old) old.removeAttribute('aria-selected');
    selectedKey = key;
    tr.setAttribute('aria-selected', 'true');
    rove();
    if (focus) tr.focus({ preventScroll: false });
    updateActions();
  }
  function kindOf(tr) {
    if (!tr) return null;
    var d = tr.dataset;
    return d.packageId ? 'package' : d.sharedPath ? 'shared' : d.poolId ? 'pool' : 'session';
  }
  function enabled(act, tr) {
    var k = kindOf(tr);
    var run = tr && tr.classList.contains('run');
    switch (act) {
      case 'stop': return (k === 'session' || k === 'package') && run;
      case 'close': return k === 'session' || k === 'package' || (k === 'shared' && tr.dataset.count === '1');
      case 'message': case 'reset': return k === 'session' || k === 'package';
      case 'clear-pool': return !!k;
      default: return true;
    }
  }
  function updateActions() {
    var tr = selectedRow();
    doc.querySelectorAll('#monitor-actions [data-act], #monitor-menu [data-act]').forEach(function (b) {
      if (b.tagName === 'BUTTON' && b.dataset.act !== 'pause') b.disabled = !enabled(b.dataset.act, tr);
    });
    updateTerminateAll();
  }
  // Support's Terminate all needs a search or filter: unavailable (and saying why) until one is shown or typed.
  var NARROWING = /^(?:q|f_.+|license|client|infobase|host)$/;
  function narrows(params) {
    var yes = false;
    new URLSearchParams(params).forEach(function (v, k) { if (v.trim() !== '' && NARROWING.test(k)) yes = true; });
    return yes;
  }
  function updateTerminateAll() {
    var a = doc.querySelector('#monitor-actions [data-act="terminate-all"][data-needs-filter]');
    if (!a) return;
    var off = !narrows(current().searchParams) && !narrows(typedQuery());
    a.classList.toggle('disabled', off);
    if (off) { a.setAttribute('aria-disabled', 'true'); a.title = a.dataset.needsFilter; }
    else { a.removeAttribute('aria-disabled'); a.removeAttribute('title'); }
  }
  doc.addEventListener('input', function (e) {
    if (e.target instanceof Element && e.target.closest('#monitor-search')) updateTerminateAll();
  });

  // --- actions: ask the server for the confirm step, show it in the dialog ---
  function confirmUrl(act) {
    var tr = selectedRow(), p = new URLSearchParams();
    if (act !== 'terminate-all') {
      if (!tr || !enabled(act, tr)) return null;
      var d = tr.dataset, k = kindOf(tr);
      if (d.sessionId) p.set('session', d.sessionId);
      if (k === 'package') { p.set('pkg', d.packageId); }
      if (k === 'shared' || k === 'pool') p.set('host', d.hostId);
      if (act === 'close') act = k === 'package' ? 'close-package' : k === 'shared' ? 'close-shared' : 'terminate';
      if (act === 'stop' && k === 'package') act = 'stop-package';
      if (k === 'shared') p.set('path', d.sharedPath);
    }
    p.set('do', act);
    var q = query();
    // Terminate all counts what the search box says: a search typed a moment ago and not back yet
    // would otherwise leave the count, and the sessions closed, those of the filter before it.
    if (act === 'terminate-all') { var typed = typedQuery(); if (filterOf(typed) !== filterOf(current().searchParams)) q = typed.toString(); }
    if (q) p.set('back', q);
    return base() + '/confirm?' + p.toString();
  }
  // The query the search form sends as it stands (empty fields left out, as on the way out).
  function typedQuery() {
    var f = doc.getElementById('monitor-search'), p = new URLSearchParams();
    if (f) new FormData(f).forEach(function (v, k) { if (v !== '') p.append(k, v); });
    return p;
  }
  // What selects the sessions: the query without paging and what is open.
  function filterOf(params) {
    var p = new URLSearchParams(params);
    ['page', 'size', 'open', 'info'].forEach(function (k) { p.delete(k); });
    p.sort();
    return p.toString();
  }
  var confirming = false; // the confirm step on its way: shown busy, asked for once
  var dialogFrom = null; // what had the focus when the dialog was asked for (focusMark): it gets it back
  function openConfirm(url) {
    if (!url || confirming) return;
    hideMenu(true);
    confirming = true;
    dialogFrom = focusMark(doc.activeElement);
    // Opened from the toolbar: its button may be disabled by the time the dialog closes; the row is the way back.
    var sel = selectedRow();
    if (dialogFrom && sel && !dialogFrom.row) { dialogFrom.row = selectedKey; dialogFrom.near = nearKeys(sel); dialogFrom.table = sel.closest('table').id; }
    var r = doc.getElementById('monitor');
    if (r) r.setAttribute('aria-busy', 'true');
    function done() { confirming = false; if (r) r.removeAttribute('aria-busy'); }
    htmx.ajax('GET', url, { target: '#monitor-dialog', swap: 'innerHTML' }).then(function () {
      done();
      var d = dialog();
      if (!d.firstElementChild) return;
      if (!d.open) d.showModal();
      focusFirst(d);
    }, done);
  }
  // The dialog gives the focus back to what opened it; when a refresh has replaced that meanwhile (or an action
  // removed it) the focus would fall to the page: it goes to the same row, found by its key, or its neighbour.
  // Done at once where the script closes it (the close event comes a task later, the focus on the page meanwhile).
  function closeDialog() {
    var d = dialog();
    if (d.open) d.close();
    // Emptied: htmx would copy a resized textarea's inline style onto the next dialog's (same id), which the CSP refuses.
    d.replaceChildren();
    var a = doc.activeElement, from = dialogFrom;
    dialogFrom = null;
    if (a && a !== doc.body && a.isConnected && !d.contains(a)) return;
    var back = focusBack(from);
    if (!back) { var stop = tabStop(doc.getElementById('monitor-sessions')); if (stop) stop.focus({ preventScroll: true }); }
  }
  // Escape: closed here rather than by the browser, so the focus comes back at once too.
  doc.addEventListener('cancel', function (e) { if (e.target === dialog()) { e.preventDefault(); closeDialog(); } }, true);
  doc.addEventListener('close', function (e) { if (e.target === dialog() && dialogFrom) closeDialog(); }, true);
  function act(name) {
    if (name === 'refresh') return refresh();
    if (name === 'pause') {
      paused = !paused;
      doc.querySelectorAll('[data-act=pause]').forEach(function (b) { b.setAttribute('aria-pressed', String(paused)); });
      if (!paused) refresh();
      return;
    }
    if (name === 'resolve') {
      var box = doc.getElementById('monitor-resolve');
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event('change', { bubbles: true })); }
      return;
    }
    openConfirm(confirmUrl(name));
  }

  // "+" expands a row, "i" opens its info panel: both live in the URL, so a refresh keeps them.
  function toggle(button) {
    var tr = button.closest('tr'), id = tr && tr.dataset.sessionId, url = current(), p = url.searchParams;
    if (!id) return;
    if (button.classList.contains('tg')) {
      var open = (p.get('open') || '').split(',').filter(Boolean), i = open.indexOf(id);
      if (i >= 0) open.splice(i, 1); else open.push(id);
      if (open.length) p.set('open', open.join(',')); else p.delete('open');
    } else if (p.get('info') === id) p.delete('info');
    else p.set('info', id);
    select(tr);
    navigate(url.pathname + url.search, 'replace');
  }

  function navigate(href, history) {
    var opts = { target: '#monitor-live', swap: 'outerHTML' };
    opts[history] = 'true';
    htmx.ajax('GET', href, opts);
  }

  doc.addEventListener('click', function (e) {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    var t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    // A drop-down (column filters, columns) closes on a click elsewhere, as menus do; a header's filter link opens it.
    if (!t.closest('[data-filter]')) {
      doc.querySelectorAll('details.mon-drop[open]').forEach(function (d) { if (!d.contains(t)) d.open = false; });
    }
    if (!t.closest('#monitor-menu')) hideMenu();
    var el = t.closest('[data-act], [data-confirm-link], [data-nav], [data-filter], [data-close], #monitor-live button.tg, #monitor-live button.ib');
    if (el) {
      if (el.hasAttribute('data-close')) { e.preventDefault(); closeDialog(); return; }
      if (el.dataset.filter) {
        e.preventDefault();
        var box = doc.getElementById('monitor-filters');
        if (box) box.open = true;
        var input = doc.getElementById('f_' + el.dataset.filter);
        if (input) input.focus();
        return;
      }
      if (el.dataset.act) {
        e.preventDefault();
        if (el.closest('#monitor-menu')) hideMenu(true); // a chosen item closes the menu, as menus do
        if (el.getAttribute('aria-disabled') !== 'true') act(el.dataset.act);
        return;
      }
      if (el.hasAttribute('data-confirm-link')) { e.preventDefault(); openConfirm(el.getAttribute('href')); return; }
      if (el.hasAttribute('data-nav')) { e.preventDefault(); navigate(el.getAttribute('href'), 'push'); return; }
      if (el.matches('button.tg, button.ib')) { toggle(el); return; }
    }
    var tr = t.closest('#monitor-live tr[tabindex]');
    if (tr && !t.closest('a, button, input')) select(tr, true);
  });

  // --- context menu on a row: a WAI-ARIA menu (arrows, Home, End move; Escape and Tab close it, back to the row) ---
  var menuRow = null; // the key of the row the menu is for: a refresh may replace the row while it is open
  function menuOpen() { var m = menu(); return !!(m && !m.hidden); }
  // back: the focus goes back to the menu's row (when it is in the menu now, or nowhere).
  function hideMenu(back) {
    var m = menu();
    if (!m || m.hidden) return;
    var a = doc.activeElement, had = !a || a === doc.body || m.contains(a);
    m.hidden = true;
    var l = live(), tr = back && had && menuRow && l && l.querySelector(menuRow);
    if (tr) tr.focus({ preventScroll: true });
  }
  function openMenu(tr, x, y) {
    var m = menu();
    if (!m) return;
    select(tr, true);
    menuRow = rowKey(tr);
    m.hidden = false;
    m.style.left = Math.max(0, Math.min(x, window.innerWidth - m.offsetWidth - 4)) + 'px';
    m.style.top = Math.max(0, Math.min(y, window.innerHeight - m.offsetHeight - 4)) + 'px';
    var first = m.querySelector('[role=menuitem]:not([disabled])');
    if (first) first.focus();
  }
  doc.addEventListener('contextmenu', function (e) {
    var t = e.target instanceof Element ? e.target : null;
    if (t && t.closest('#monitor-menu')) { e.preventDefault(); return; } // the menu key pressed in the menu
    var tr = t && t.closest('#monitor-live tr[tabindex]');
    if (!tr || !menu()) return;
    e.preventDefault();
    openMenu(tr, e.clientX, e.clientY);
  });
  function menuKey(e, m) {
    var items = Array.prototype.slice.call(m.querySelectorAll('[role=menuitem]:not([disabled])'));
    var i = items.indexOf(doc.activeElement), n = items.length, k = e.key;
    if (k === 'Escape' || k === 'Tab') { e.preventDefault(); hideMenu(true); return; }
    var to = k === 'ArrowDown' ? (i + 1) % n : k === 'ArrowUp' ? (i <= 0 ? n - 1 : i - 1) : k === 'Home' ? 0 : k === 'End' ? n - 1 : null;
    if (to === null || !n) return;
    e.preventDefault();
    items[to].focus();
  }

  // --- hotkeys: Ctrl+F search, Alt+F5 refresh, Delete close; on a row: arrows, Home, End move the selection, Space selects ---
  doc.addEventListener('keydown', function (e) {
    var t = e.target instanceof Element ? e.target : null;
    var typing = t && t.closest('input, textarea, select, [contenteditable]');
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'f' || e.key === 'F')) {
      var q = doc.getElementById('monitor-q');
      if (q) { e.preventDefault(); q.focus(); q.select(); }
      return;
    }
    if (e.altKey && e.key === 'F5') { e.preventDefault(); refresh(); return; }
    var m = menu();
    if (menuOpen() && t && m.contains(t)) { menuKey(e, m); return; }
    if (e.key === 'Escape') {
      if (menuOpen()) { hideMenu(true); return; }
      if (dialog() && dialog().open) return;
      // An open drop-down (column filters, columns) closes, as a menu does; the focus goes back to its summary.
      doc.querySelectorAll('details.mon-drop[open]').forEach(function (d) {
        var inside = d.contains(doc.activeElement);
        d.open = false;
        e.preventDefault();
        if (inside) d.querySelector('summary').focus();
      });
      return;
    }
    // From the search box, ↓ goes to the results: the list's row, not the ~30 header controls in between.
    if (t && t.id === 'monitor-q' && e.key === 'ArrowDown' && !e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      var first = tabStop(doc.getElementById('monitor-sessions'));
      if (first) { e.preventDefault(); first.focus(); }
      return;
    }
    if (typing || (dialog() && dialog().open)) return;
    var tr = t && t.closest('#monitor-live tr[tabindex]');
    // The focused row is the one the keys act on.
    if (tr && t === tr && (e.key === 'Delete' || e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) && rowKey(tr) !== selectedKey) select(tr);
    if (e.key === 'Delete' && selectedRow()) { e.preventDefault(); act('close'); return; }
    if (!tr || e.ctrlKey || e.metaKey || e.altKey) return;
    if (t === tr && (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) {
      e.preventDefault();
      var r = tr.getBoundingClientRect();
      openMenu(tr, r.left + 16, r.bottom);
      return;
    }
    if ((e.key === ' ' || e.key === 'Enter') && t === tr) { e.preventDefault(); select(tr, true); return; }
    var step = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity }[e.key];
    if (step) {
      // Within the row's table (sessions, shared packages, pool): each is one Tab stop.
      var rows = Array.prototype.slice.call(tr.closest('table').querySelectorAll(ROWS));
      var i = Math.max(0, Math.min(rows.length - 1, rows.indexOf(tr) + step));
      e.preventDefault();
      if (rows[i] && rows[i] !== tr) select(rows[i], true);
    }
  });

  markToggles();
  rove();
  updateActions();
})();
