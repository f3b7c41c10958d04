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
  var authorizeUrl = meta("flip-authorize-url");
  if (authorizeUrl) {
    try {
      sessionStorage.setItem("flip-binding:" + meta("flip-state"), meta("flip-binding"));
    } catch (error) {
      // Storage disabled: the partitioned cookie is then the only binding.
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
