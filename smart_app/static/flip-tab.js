// Where the EHR's frame keeps no cookie, a launch is bound to this tab by a secret in its
// sessionStorage, one per launch (`flip-tab:<launch id>`). launch.js keeps the secret of
// the launch it just completed as `flip-tab:latest`; the first page of that launch files
// it under the launch's id. Every request proves it: API calls send it in X-Flip-Tab
// (flip-api.js), form posts in the field `flip_tab`, and a page asked for without a cookie
// is first Flip's small proving page, which posts it back to the same URL.
(function () {
  "use strict";
  // The callback answers with the launch's first page instead of redirecting to it: show
  // that page's own address, so a reload asks for the page and not the used callback.
  var own = document.querySelector('meta[name="flip-page-url"]');
  if (own && own.content !== window.location.pathname) {
    history.replaceState(history.state, "", own.content);
  }
  var launchPath = /^\/l\/([^/]+)\//.exec(window.location.pathname);
  var launchId = launchPath ? launchPath[1] : "";
  function read(key) {
    try {
      return sessionStorage.getItem(key) || "";
    } catch (error) {
      return "";  // storage disabled: the cookie is the only binding
    }
  }
  function write(key, value) {
    try {
      if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key);
    } catch (error) {
      // storage disabled: nothing to keep
    }
  }
  function binding() {
    return launchId ? read("flip-tab:" + launchId) : "";
  }
  function addTo(form) {
    var field = form.elements.namedItem("flip_tab");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "flip_tab";
      form.appendChild(field);
    }
    field.value = binding();
  }
  document.addEventListener("submit", function (event) {
    if (event.target instanceof HTMLFormElement && event.target.method === "post") {
      addTo(event.target);
    }
  }, true);
  window.FlipTab = {
    binding: binding,
    keepLatest: function (value) { write("flip-tab:latest", value); },
  };
  var prove = document.getElementById("flip-prove-tab");
  if (prove) {
    if (!binding() && launchId) {
      write("flip-tab:" + launchId, read("flip-tab:latest"));
      write("flip-tab:latest", "");
    }
    addTo(prove);
    prove.submit();
  }
})();
