// Flip's visit API as the page's scripts use it: the per-launch base and secret come from
// the page's <meta> tags; every call sends the secret in X-Flip-Launch.
(function () {
  "use strict";
  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }

  // Resolves to {status, data} whatever the status; rejects only when Flip is unreachable.
  // `keepalive`: the request outlives the page (sent as the page is left).
  function send(method, path, body, keepalive) {
    return fetch(meta("flip-api-base") + path, {
      method: method,
      keepalive: Boolean(keepalive),
      headers: {
        "Content-Type": "application/json",
        "X-Flip-Launch": meta("flip-launch-token"),
        "X-Flip-Tab": window.FlipTab ? window.FlipTab.binding() : "",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  // Writes a status line for screen readers too: errors are announced as alerts.
  function say(line, text, isError) {
    line.textContent = text;
    line.classList.toggle("error", Boolean(isError));
    line.setAttribute("role", isError ? "alert" : "status");
  }

  window.FlipApi = { send: send, say: say };
})();
