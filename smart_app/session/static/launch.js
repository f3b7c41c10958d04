// A launch is bound to the browser that started it twice over: by a partitioned cookie
// (Chromium keeps it in a cross-site frame even with third-party cookies blocked) and by
// a secret in this tab's sessionStorage (partitioned storage, for browsers that drop
// cookies in frames but keep storage). The callback needs either one.
(function () {
  "use strict";
  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : null;
  }
  // False when this document can read its cookies and /launch's check cookie is not
  // among them; null when it cannot tell (an opaque origin still sends HTTP cookies).
  function cookieKept() {
    try {
      return document.cookie.split("; ").indexOf("flip_cookies=1") >= 0;
    } catch (error) {
      return null;
    }
  }
  var authorizeUrl = meta("flip-authorize-url");
  if (authorizeUrl) {
    var stored = true;
    try {
      sessionStorage.setItem("flip-binding:" + meta("flip-state"), meta("flip-binding"));
    } catch (error) {
      stored = false;  // Storage disabled: the partitioned cookie is then the only binding.
    }
    if (!stored && cookieKept() === false) {
      // Neither binding can work here: the callback would be refused. Say so instead.
      document.querySelector("[data-opening]").hidden = true;
      // In a frame, a window of its own may keep them; a window that keeps none cannot.
      var where = window.top === window ? "window" : "frame";
      document.querySelector('[data-cookies-blocked="' + where + '"]').hidden = false;
      return;
    }
    window.location.replace(authorizeUrl);
    return;
  }
  var form = document.getElementById("flip-callback");
  if (form) {
    var state = form.elements.namedItem("state");
    var key = "flip-binding:" + (state ? state.value : "");
    var binding = null;
    try {
      binding = sessionStorage.getItem(key);
      sessionStorage.removeItem(key);
    } catch (error) {
      binding = null;
    }
    form.elements.namedItem("binding").value = binding || "";
    // Without a cookie, this tab proves the launch on every later request (flip-tab.js).
    if (binding && window.FlipTab) {
      window.FlipTab.keepLatest(binding);
    }
    form.submit();
  }
})();
