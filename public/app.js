// Small progressive enhancements; the pages work without it.
(function () {
  'use strict';
  // Tell the server the browser's time zone once, so dates show in local time.
  try {
    if (!/(?:^|; )sm_tz=/.test(document.cookie)) {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz) document.cookie = 'sm_tz=' + encodeURIComponent(tz) + '; path=/; max-age=31536000; samesite=lax';
    }
  } catch (e) { /* old browser: server default */ }

  // Plain forms with data-confirm ask before submitting: in the page's dialog (layouts/page.tsx), whose
  // confirm button is the form's own ("Suspend", red where the form's is), else the browser's confirm.
  var asking = null; // { form, submitter, from } while the dialog is open
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.hasAttribute('hx-post')) return;
    if (form.dataset.confirmed) return; // asked and confirmed: this is the submit app.js sends below
    var d = document.getElementById('confirm-dialog');
    if (!d || typeof d.showModal !== 'function' || typeof form.requestSubmit !== 'function') {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
      return;
    }
    ev.preventDefault();
    if (asking) return;
    var submitter = ev.submitter || null;
    // Where the focus goes back to on Cancel: the field Enter was pressed in, else the button.
    var from = document.activeElement instanceof HTMLElement && form.contains(document.activeElement) ? document.activeElement : submitter;
    asking = { form: form, submitter: submitter, from: from };
    var ok = d.querySelector('[data-confirm-ok]');
    var label = submitter && submitter.textContent ? submitter.textContent.trim() : '';
    ok.textContent = label || ok.getAttribute('data-label');
    ok.className = submitter && submitter.classList.contains('danger') ? 'danger' : 'primary';
    document.getElementById('confirm-dialog-text').textContent = form.dataset.confirm;
    d.showModal();
    ok.focus();
  });
  document.addEventListener('click', function (ev) {
    var el = ev.target instanceof Element ? ev.target.closest('#confirm-dialog [data-confirm-ok], #confirm-dialog [data-confirm-cancel]') : null;
    if (!el || !asking) return;
    var d = document.getElementById('confirm-dialog');
    if (el.hasAttribute('data-confirm-ok')) {
      var a = asking;
      asking = null;
      d.close();
      a.form.dataset.confirmed = '1';
      // A refresh while the dialog was open (the infobase page's every 10 s) may have replaced the form
      // with a copy; a form no longer in the document sends nothing. The one confirmed is sent, put back hidden.
      if (!a.form.isConnected) {
        a.form.hidden = true;
        document.body.appendChild(a.form);
      }
      // requestSubmit runs the form's validation and sends the submitter's name and value, as the click would have.
      // Its submit event is dispatched before it returns, so the mark is only ever seen by that one.
      try {
        if (a.submitter && a.submitter.form === a.form) a.form.requestSubmit(a.submitter);
        else a.form.requestSubmit();
      } finally {
        delete a.form.dataset.confirmed;
      }
    } else d.close();
  });
  // Cancel, Escape or a close by any other means: nothing is sent, and the focus goes back where it was.
  document.addEventListener('close', function (ev) {
    if (!(ev.target instanceof Element) || ev.target.id !== 'confirm-dialog' || !asking) return;
    var back = asking.from;
    asking = null;
    if (back) back.focus();
  }, true);

  // Copy buttons: <button data-copy="text">.
  document.addEventListener('click', function (ev) {
    var el = ev.target instanceof Element ? ev.target.closest('[data-copy]') : null;
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(el.getAttribute('data-copy') || '');
      el.setAttribute('data-copied', '1');
    }
  });
})();
