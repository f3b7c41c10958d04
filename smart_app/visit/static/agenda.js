// The agenda: reorder (drag, or the arrow buttons from the keyboard), set statuses, add,
// merge and split items. Every change is saved to the draft through Flip's API at once.
(function () {
  "use strict";
  var list = document.getElementById("agenda");
  if (!list) return;
  var statusLine = document.getElementById("save-status");

  function say(text, isError) {
    window.FlipApi.say(statusLine, text, isError);
  }

  function call(method, path, body) {
    say("Saving\u2026");
    return window.FlipApi.send(method, path, body).then(function (answer) {
      if (answer.status >= 400) {
        throw new Error(answer.data.message || "Not saved (HTTP " + answer.status + ").");
      }
      say("Saved");
      return answer.data;
    }).catch(function (error) {
      // Nothing typed is thrown away: the page keeps it, and the next change retries.
      say(error.message + " Your changes are still on this page; try again.", true);
      throw error;
    });
  }

  function items() {
    return Array.prototype.slice.call(list.querySelectorAll("[data-agenda-item]"));
  }

  function saveOrder() {
    return call("PUT", "/visit/agenda", {
      order: items().map(function (li) { return li.dataset.id; }),
    });
  }

  function saveStatus(li) {
    var status = li.querySelector("[data-status-select]").value;
    var reasonInput = li.querySelector("[data-reason]");
    reasonInput.hidden = status !== "deferred";
    li.querySelector("[data-add-to-plan]").hidden = status === "open";
    li.dataset.status = status;
    if (status === "deferred" && !reasonInput.value.trim()) {
      // Deferred is kept only with its reason: until then the line is not saved.
      say("Not saved yet: say why it is deferred, then press Enter.", true);
      reasonInput.focus();
      return;
    }
    var statuses = {};
    statuses[li.dataset.id] = { status: status, reason: reasonInput.value };
    call("PUT", "/visit/agenda", { statuses: statuses }).catch(function () {});
  }

  function move(li, direction) {
    var sibling = direction === "up" ? li.previousElementSibling : li.nextElementSibling;
    if (!sibling) return;
    if (direction === "up") list.insertBefore(li, sibling);
    else list.insertBefore(sibling, li);
    li.querySelector('[data-move="' + direction + '"]').focus();
    saveOrder().catch(function () {});
  }

  // A merge or split reloads the agenda; focus then goes back to the line it changed, and
  // the status line says where that line is now. What to focus rides in the reload's
  // query (the frame may keep no storage), and is taken off the address once used.
  var DONE_WORDS = {
    merged: "Merged: shown with this item.",
    split: "Split: on its own line again.",
    joined: "Added: the same topic as this item, so shown with it. Split puts it on its own line.",
  };
  function reloadFocusing(id, done) {
    var query = "?focus=" + encodeURIComponent(id) + "&done=" + done;
    window.location.replace(window.location.pathname + query);
  }
  (function focusAfterReload() {
    var query = new URLSearchParams(window.location.search);
    var id = query.get("focus");
    if (!id) return;
    window.history.replaceState(null, "", window.location.pathname);
    var all = items();
    var li = all.filter(function (item) { return item.dataset.id === id; })[0];
    if (!li) return;
    li.focus();
    var words = DONE_WORDS[query.get("done")] || "";
    say(words + " Item " + (all.indexOf(li) + 1) + " of " + all.length + ".");
  })();

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var li = button.closest("[data-agenda-item]");
    if (button.dataset.move) move(li, button.dataset.move);
    if (button.dataset.split) {
      var split = button.dataset.split;
      call("POST", "/visit/agenda/split", { item: split })
        .then(function () { reloadFocusing(split, "split"); })
        .catch(function () {});
    }
    if (button.hasAttribute("data-merge-go")) {
      var into = li.querySelector("[data-merge]").value;
      if (!into) {
        say("Choose which item it is the same topic as, then press Merge.");
        return;
      }
      call("POST", "/visit/agenda/merge", { item: li.dataset.id, into: into })
        .then(function () { reloadFocusing(into, "merged"); })
        .catch(function () {});
    }
  });

  list.addEventListener("change", function (event) {
    var li = event.target.closest("[data-agenda-item]");
    if (event.target.matches("[data-status-select]")) saveStatus(li);
  });

  list.addEventListener("keydown", function (event) {
    if (event.target.matches("[data-reason]") && event.key === "Enter") {
      event.preventDefault();
      saveStatus(event.target.closest("[data-agenda-item]"));
    }
  });
  list.addEventListener("focusout", function (event) {
    if (event.target.matches("[data-reason]") && event.target.value.trim()) {
      saveStatus(event.target.closest("[data-agenda-item]"));
    }
  });

  var dragged = null;
  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest("[data-agenda-item]");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });
  list.addEventListener("dragover", function (event) {
    var over = event.target.closest("[data-agenda-item]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  list.addEventListener("drop", function (event) {
    event.preventDefault();
  });
  list.addEventListener("dragend", function () {
    if (dragged) saveOrder().catch(function () {});
    dragged = null;
  });

  var form = document.getElementById("add-item");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = form.elements.namedItem("text");
    var source = form.elements.namedItem("source").value;
    call("POST", "/visit/agenda/items", { text: input.value, source: source })
      .then(function (data) {
        input.value = "";
        document.dispatchEvent(new CustomEvent("flip:item-added", { detail: data.item }));
        if (data.merged_into) {
          // The same topic as a patient's or family's line: shown with it, as a reload says.
          reloadFocusing(data.merged_into.id, "joined");
          return undefined;
        }
        var template = document.getElementById("item-template");
        var li = template.content.querySelector("[data-agenda-item]").cloneNode(true);
        li.dataset.id = data.item.id;
        li.dataset.source = data.item.source;
        li.className = "agenda-item source-" + data.item.source;
        li.querySelector("[data-text]").textContent = data.item.text;
        li.querySelector("[data-who]").textContent = "added now";
        list.appendChild(li);
        return saveOrder();
      }).catch(function () {});
  });
})();
