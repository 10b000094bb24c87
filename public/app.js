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

  // Plain forms with data-confirm ask before submitting (htmx elements use hx-confirm).
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !form.hasAttribute('hx-post')) {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    }
  });

  // Copy buttons: <button data-copy="text">.
  document.addEventListener('click', function (ev) {
    var el = ev.target instanceof Element ? ev.target.closest('[data-copy]') : null;
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(el.getAttribute('data-copy') || '');
      el.setAttribute('data-copied', '1');
    }
  });
})();
