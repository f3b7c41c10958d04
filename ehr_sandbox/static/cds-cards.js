// The app's CDS Hooks cards above the chart (ehr_sandbox/cds_client.py serves them).
// Every word is set as text (textContent), never as HTML: the card's Markdown comes from
// another system. A SMART link opens in the sidebar frame, as a fresh EHR launch.
(function () {
  "use strict";
  var section = document.querySelector("[data-cds-cards]");
  if (!section) { return; }
  var frame = document.querySelector("iframe.app-frame");
  var frameName = frame ? frame.name : "";

  function plain(markdown) {
    // Markdown shown as text: the list markers, bold and backslash escapes go.
    return markdown.split("\n").map(function (line) {
      return line.replace(/^\s*[-*]\s+/, "").replace(/\*\*/g, "")
        .replace(/\\([!-\/:-@\[-`{-~])/g, "$1");
    }).filter(function (line) { return line.trim() !== ""; });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function show(card) {
    var article = element("article", "cds-card cds-" + card.indicator);
    article.setAttribute("data-cds-card", "");
    article.setAttribute("data-indicator", card.indicator);
    article.appendChild(element("p", "cds-summary", card.summary));
    var detail = element("ul", "cds-detail");
    detail.setAttribute("data-cds-detail", "");
    plain(card.detail).forEach(function (line) { detail.appendChild(element("li", "", line)); });
    article.appendChild(detail);
    card.links.forEach(function (link) {
      var a = element("a", "cds-link", link.label);
      a.href = link.url;
      a.setAttribute("data-cds-link", link.type || "");
      if (link.type === "smart" && frameName) { a.target = frameName; }
      else { a.target = "_blank"; a.rel = "noopener noreferrer"; }
      article.appendChild(a);
    });
    if (card.source) { article.appendChild(element("p", "cds-source", "From " + card.source)); }
    section.appendChild(article);
  }

  function unavailable() {
    section.replaceChildren(element("p", "cds-unavailable", "Flip's card is not available"));
  }

  fetch(section.getAttribute("data-src"), { headers: { Accept: "application/json" } })
    .then(function (answer) { return answer.ok ? answer.json() : null; })
    .then(function (body) {
      if (!body || body.unavailable) { unavailable(); return; }
      (body.cards || []).forEach(show);
      section.setAttribute("data-cds-loaded", "");
    })
    .catch(unavailable);
})();
