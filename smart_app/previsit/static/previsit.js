// Improves the pre-visit form; it works without this script.
// - A counter under each text question says how many characters are left (or too many).
// - What is typed is kept in this tab's sessionStorage, so a reload loses nothing before
//   it is sent (once answers were sent, the page says when what it shows is not); the page that answers a send clears it (the server keeps the answers), and
//   so does the clinic's tablet between turns: the next person never gets the last one's.
(function () {
  "use strict";
  var key = "flip-previsit:" + window.location.pathname.split("/")[2];
  var justSent = document.querySelector("[data-previsit-just-sent]");
  if (justSent || document.querySelector("[data-tablet-turns]")) {
    try { sessionStorage.removeItem(key); } catch (error) { /* no storage */ }
  }
  var form = document.querySelector("form[data-previsit]");
  if (!form) return;
  // A send refused: the keyboard and screen reader start at what needs fixing, with
  // links to each question.
  var problems = document.querySelector("[data-previsit-problems]");
  if (problems) problems.focus();

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "flip_tab" && el.name !== "lang";
    });
  }
  function values() {
    return JSON.stringify(fields().map(function (el) {
      return [el.name, el.type === "checkbox" || el.type === "radio" ? el.checked : el.value];
    }));
  }
  function keep() {
    try { sessionStorage.setItem(key, values()); } catch (error) { /* no storage */ }
  }
  // After a send: the answers on the page differ from those sent until they are sent again.
  var unsent = document.querySelector("[data-previsit-unsent]");
  var asSent = values();
  function showUnsent() {
    if (unsent) unsent.hidden = values() === asSent;
  }
  function restore() {
    var kept;
    try { kept = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (error) { kept = null; }
    if (!kept) return;
    fields().forEach(function (el, index) {
      var value = kept[index];
      if (!value || value[0] !== el.name) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = value[1];
      else el.value = value[1];
    });
  }
  function count(hint) {
    var limit = Number(hint.getAttribute("data-char-limit"));
    var question = hint.closest(".question");
    var longest = 0;
    question.querySelectorAll("textarea, input[type=text]").forEach(function (el) {
      longest = Math.max(longest, el.value.length);
    });
    var over = longest > limit;
    var n = Math.abs(limit - longest);
    // The page gives each wording in its language's one and other forms (ngettext).
    var template = hint.getAttribute((over ? "data-over-" : "data-left-") + (n === 1 ? "one" : "other"));
    hint.textContent = template.replace("{count}", String(n));
    hint.classList.toggle("over", over);
  }

  if (!justSent) restore();
  showUnsent();
  var hints = form.querySelectorAll("[data-char-limit]");
  hints.forEach(count);
  form.addEventListener("input", function () {
    hints.forEach(count);
    keep();
    showUnsent();
  });
  form.addEventListener("change", function () {
    keep();
    showUnsent();
  });
})();
