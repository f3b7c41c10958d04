// Closing the visit: gather the plan, send it, show what is saved to the chart.
(function () {
  "use strict";
  var form = document.getElementById("plan-form");
  if (!form) return;
  // Shown after the page's first frame: the concern and the agenda paint without waiting
  // for the form's style and layout (closing.html). Scheduled first, so that nothing below
  // can leave it hidden.
  requestAnimationFrame(function () {
    setTimeout(function () { document.querySelector("[data-closing-block]").hidden = false; }, 0);
  });
  var statusLine = document.getElementById("plan-status");
  var openItems = document.getElementById("open-items");
  var asked = document.getElementById("something-else-asked");
  // What "something else" brought up, kept with the form (restored after a reload).
  var addedAfterAsking = JSON.parse(asked.dataset.added || "[]");
  var send = window.FlipApi.send;

  function say(text, isError) {
    window.FlipApi.say(statusLine, text, isError);
  }

  function value(root, selector) {
    var element = root.querySelector(selector);
    return element ? element.value.trim() : "";
  }

  function plan() {
    var items = Array.prototype.map.call(form.querySelectorAll("[data-plan-item]"), function (row) {
      return {
        text: value(row, ".plan-text"),
        owner: value(row, ".plan-owner") || null,
        when: value(row, ".plan-when") || "now",
        due: value(row, ".plan-due") || null,
      };
    }).filter(function (item) { return item.text; });
    var goals = Array.prototype.map.call(form.querySelectorAll(".goal-text"), function (input) {
      return { text: input.value.trim() };
    }).filter(function (goal) { return goal.text; });
    var learning = Array.prototype.filter.call(
      form.querySelectorAll('input[name="learning"]'), function (box) { return box.checked; }
    ).map(function (box) { return box.value; });
    return {
      items: items,
      goals: goals,
      follow_up: value(form, "#follow-up") || null,
      partnering_note: {
        style: value(form, 'input[name="style"]:checked') || null,
        learning_preferences: learning,
        text: value(form, "#partnering-text") || null,
      },
      something_else_asked: asked.checked,
      something_else_added: addedAfterAsking.slice(),  // a copy: the page compares forms
      closed_goals: Array.prototype.filter.call(
        form.querySelectorAll("[data-closed-goal]"), function (select) { return select.value; }
      ).map(function (select) { return { goal: select.dataset.closedGoal, outcome: select.value }; }),
    };
  }

  function showOpen(items) {
    document.querySelectorAll("[data-agenda-item]").forEach(function (li) {
      li.classList.remove("needs-closing");
    });
    openItems.textContent = "";
    if (!items || !items.length) { openItems.hidden = true; return; }
    var title = document.createElement("p");
    title.textContent = "Still open - address or defer each one first:";
    openItems.appendChild(title);
    var list = document.createElement("ul");
    items.forEach(function (item) {
      var entry = document.createElement("li");
      entry.textContent = item.source + ": " + item.text;
      list.appendChild(entry);
      var li = document.querySelector('[data-agenda-item][data-id="' + item.id + '"]');
      if (li) li.classList.add("needs-closing");
    });
    openItems.appendChild(list);
    openItems.hidden = false;
  }

  // The clinician watches for "Saved": about every 50 ms for the first 2 s (a write usually
  // takes well under a second, and a slower poll would leave them waiting after it ended;
  // a status answer costs Flip 2-4 ms, so about 40 of them while the write is fresh),
  // then less and less often. Each delay is jittered (half to one and a half times): with
  // a fixed one, polls that keep step with the EHR's answers arrive just before every
  // write ends, and the clinician waits a whole period after the last.
  var FAST_POLL_MS = 50, FAST_FOR_MS = 2000, MAX_POLL_MS = 1500;
  var pollDelay = FAST_POLL_MS, pendingSince = null;

  function showWriteback(status) {
    var section = document.getElementById("writeback");
    var list = document.getElementById("writeback-list");
    list.textContent = "";
    (status.resources || []).forEach(function (resource) {
      var entry = document.createElement("li");
      entry.dataset.writebackResource = "";
      entry.dataset.status = resource.status;
      var words = resource.resource_type + ": " + (resource.action || resource.status);
      if (resource.id) words += " (" + resource.id + ")";
      if (resource.message) words += " \u2014 " + resource.message;
      entry.textContent = words;
      list.appendChild(entry);
    });
    document.getElementById("writeback-message").textContent =
      status.confirmation || status.message || "";
    var history = document.getElementById("writeback-history");
    history.textContent = "";
    (status.history || []).forEach(function (version) {
      var entry = document.createElement("li");
      entry.textContent = "Version " + version.version + ": " + version.state +
        ", finished " + (version.finished_text || version.finished_at);
      history.appendChild(entry);
    });
    section.hidden = false;
    section.dataset.state = status.state;
    if (status.state === "pending") {
      if (pendingSince === null) pendingSince = Date.now();
      if (Date.now() - pendingSince >= FAST_FOR_MS) pollDelay = Math.min(pollDelay * 1.5, MAX_POLL_MS);
      setTimeout(poll, pollDelay * (0.5 + Math.random()));
    } else {
      pendingSince = null;
      pollDelay = FAST_POLL_MS;
    }
    if (status.state === "failed") say("Not saved: see below, edit the plan and finish again.", true);
    if (status.state === "written") say(status.confirmation || status.message || "Saved to the chart.");
  }

  function poll() {
    send("GET", "/visit/writeback").then(function (answer) {
      if (answer.status === 200) showWriteback(answer.data);
    }).catch(function () { setTimeout(poll, 5000); });
  }

  // Every field is kept as it is typed (the draft, server-side), so a reload loses none:
  // after a pause in typing, or at once when the page is left (another chart, a reload).
  var timers = {}, waiting = {};
  function later(name, action) {
    clearTimeout(timers[name]);
    waiting[name] = action;
    timers[name] = setTimeout(function () {
      delete waiting[name];
      action().then(function (answer) {
        if (answer.status !== 200) say((answer.data.message || "Not kept.") + " It is still on this page.", true);
      }).catch(function () {
        say("Flip could not keep your typing just now; it is still on this page.", true);
      });
    }, 400);
  }
  window.addEventListener("pagehide", function () {
    Object.keys(waiting).forEach(function (name) {
      clearTimeout(timers[name]);
      waiting[name](true);  // a request that outlives the page
      delete waiting[name];
    });
  });
  // A plan changed after it was saved to the chart is not in the chart until finished again.
  function showUnsent(unsent) {
    document.getElementById("plan-unsent").hidden = !unsent;
  }
  // The care team shares one plan form per visit: a page sends only the fields it changed
  // since it last heard from Flip, and Flip keeps the others as a colleague left them.
  // A field a colleague changed since is said (#plan-elsewhere), and Finish waits for a
  // reload rather than send this page's older words over theirs.
  var shown = plan();  // the fields as this page last sent them (or loaded them)
  var kept = JSON.parse(form.dataset.kept || "{}");  // the form as Flip last said it keeps it
  var elsewhere = false;
  // Equal as JSON whatever the order of keys (Flip answers with its keys sorted).
  function canonical(value) {
    if (Array.isArray(value)) return value.map(canonical);
    if (!value || typeof value !== "object") return value;
    var sorted = {};
    Object.keys(value).sort().forEach(function (key) { sorted[key] = canonical(value[key]); });
    return sorted;
  }
  function same(a, b) { return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b)); }
  function keepForm(leaving) {
    var now = plan(), sent = {};
    Object.keys(now).forEach(function (name) {
      if (!same(now[name], shown[name])) sent[name] = now[name];
    });
    return send("PUT", "/visit/plan/form", sent, leaving).then(function (answer) {
      if (answer.status !== 200) return answer;
      var keptNow = answer.data.plan_form || {};
      // A field this page sent over a colleague's words (not what it last saw kept):
      // theirs are said, so that nothing typed is lost from sight.
      var replaced = answer.data.replaced || {};
      var theirs = Object.keys(replaced).filter(function (name) {
        return !same(replaced[name], kept[name]) && !same(replaced[name], sent[name]);
      }).map(function (name) { return words(replaced[name]); }).filter(Boolean);
      if (theirs.length) showReplaced(theirs);
      Object.keys(keptNow).forEach(function (name) {
        if (name in sent || same(keptNow[name], kept[name]) || same(keptNow[name], shown[name])) return;
        elsewhere = true;  // a colleague's words this page does not show
      });
      Object.keys(sent).forEach(function (name) { shown[name] = sent[name]; });
      kept = keptNow;
      document.getElementById("plan-elsewhere").hidden = !elsewhere;
      return answer;
    });
  }
  // The words in a field's value (an item's text, a goal, the follow-up), for a person.
  function words(value) {
    if (typeof value === "string") return value.trim();
    if (!value || typeof value !== "object") return "";
    return Object.keys(value).filter(function (key) {
      return Array.isArray(value) || key === "text" || key === "items" || key === "goals";
    }).map(function (key) { return words(value[key]); }).filter(Boolean).join("; ");
  }
  function showReplaced(theirs) {
    var line = document.getElementById("plan-replaced");
    line.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = "Someone else had changed this since you opened it.";
    line.appendChild(strong);
    line.appendChild(document.createTextNode(
      " Your words replaced theirs, which were: \u201c" + theirs.join("; ") +
      "\u201d. Put theirs back if they should stay."));
    line.hidden = false;
  }
  function keep(event) {
    if (event && event.target && event.target.dataset && event.target.dataset.reflection) {
      later("reflection", keepReflection);
    } else {
      later("plan", keepForm);
      if (!document.getElementById("writeback").hidden) showUnsent(true);
    }
  }
  function keepReflection(leaving) {
    var reflection = {};
    document.querySelectorAll("[data-reflection]").forEach(function (area) {
      reflection[area.dataset.reflection] = area.value;
    });
    return send("PUT", "/visit/reflection", reflection, leaving);
  }
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  asked.addEventListener("change", keep);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var finish = document.getElementById("finish-plan");
    if (finish.disabled) return;  // one send at a time: a double click sends once
    finish.disabled = true;
    say("Sending\u2026");
    clearTimeout(timers.plan);
    delete waiting.plan;
    keepForm().then(function (saved) {
      if (saved.status !== 200 || !elsewhere) return send("POST", "/visit/plan", plan());
      return { status: 409, data: { message: "Someone else changed this plan: reload the page to see what it now says, then finish." } };
    }).then(function (answer) {
      finish.disabled = false;
      // Disabling the button took the focus from it: keyboard users get their place back,
      // or the list of what is still open.
      finish.focus();
      if (answer.status === 409 && answer.data.open_items) {
        showOpen(answer.data.open_items);
        openItems.focus();
        say(answer.data.advice || "Some items are still open.", true);
      } else if (answer.status === 202) {
        kept = plan();  // finishing keeps the whole form as sent
        shown = plan();
        showOpen([]);
        showUnsent(false);
        say("Saving to the chart\u2026");
        showWriteback(answer.data);
      } else {
        say((answer.data.message || "Not sent.") + " Your plan is still here.", true);
      }
    }).catch(function () {
      finish.disabled = false;
      say("Flip could not be reached. Your plan is still here; try again.", true);
    });
  });

  function addPlanRow(words, when) {
    // An empty first row is filled rather than left above the new one.
    var rows = document.querySelectorAll("#plan-items [data-plan-item]");
    var last = rows[rows.length - 1];
    var row = last && !last.querySelector(".plan-text").value.trim() ? last : null;
    if (!row) {
      var template = document.getElementById("plan-item-template");
      row = template.content.querySelector("[data-plan-item]").cloneNode(true);
      document.getElementById("plan-items").appendChild(row);
    }
    if (words) row.querySelector(".plan-text").value = words;
    if (when) row.querySelector(".plan-when").value = when;
    row.querySelector(".plan-text").focus();
    return row;
  }
  document.getElementById("add-plan-item").addEventListener("click", function () {
    addPlanRow("", "");
  });
  // "Add to plan" on an addressed or deferred agenda line: one action, in its words.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-add-to-plan]");
    if (!button) return;
    var li = button.closest("[data-agenda-item]");
    var words = li.querySelector("[data-text]").textContent.trim();
    var already = Array.prototype.filter.call(
      document.querySelectorAll("#plan-items .plan-text"),
      function (input) { return input.value.trim() === words; }
    )[0];
    if (already) {  // pressed again: one line of the plan, not two
      already.focus();
      say("Already in the plan: " + words);
      return;
    }
    addPlanRow(words, li.dataset.status === "deferred" ? "later" : "now");
    keep();
    say("Added to the plan: " + words);
  });

  // "Copy for the visit note": the plan and the partnering note as plain text to paste.
  function visitNoteText() {
    var body = plan();
    var lines = ["Agreed plan (Flip)"];
    body.items.forEach(function (item) {
      var parts = [item.text];
      if (item.owner) parts.push("who: " + item.owner);
      parts.push(item.when);
      if (item.due) parts.push("by " + item.due);
      lines.push("- " + parts.join("; "));
    });
    if (body.goals.length) {
      lines.push("Goals:");
      body.goals.forEach(function (goal) { lines.push("- " + goal.text); });
    }
    if (body.follow_up) lines.push("Follow-up: " + body.follow_up);
    var note = body.partnering_note;
    var partnering = [];
    if (note.style) {
      var style = form.querySelector('input[name="style"]:checked');
      partnering.push(style.parentNode.textContent.trim() + ".");
    }
    var learning = Array.prototype.map.call(
      document.querySelectorAll("input[name=learning]:checked"),
      function (box) { return box.parentNode.textContent.trim(); }
    );
    if (learning.length) partnering.push("Likes to learn: " + learning.join("; ") + ".");
    if (note.text) partnering.push(note.text);
    if (partnering.length) lines.push("Partnering: " + partnering.join(" "));
    return lines.join("\n");
  }
  document.getElementById("copy-visit-note").addEventListener("click", function () {
    var text = visitNoteText();
    var box = document.getElementById("visit-note-text");
    box.value = text;
    box.hidden = false;
    box.select();
    var copied = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text)
      : Promise.reject(new Error("no clipboard"));
    copied.then(function () {
      say("Copied: paste it into the visit note.");
    }).catch(function () {
      say("Selected below: copy it (Ctrl+C) and paste it into the visit note.");
    });
  });
  document.getElementById("add-goal").addEventListener("click", function () {
    var input = document.createElement("input");
    input.className = "goal-text";
    input.maxLength = 1000;
    input.setAttribute("aria-label", "Goal");
    document.getElementById("plan-goals").appendChild(input);
    input.focus();
  });
  document.getElementById("save-reflection").addEventListener("click", function () {
    keepReflection().then(function (answer) {
      say(answer.status === 200 ? "Reflection kept (private)." : answer.data.message, answer.status !== 200);
    });
  });

  // Items added to the agenda after "something else" was asked are what it brought up.
  document.addEventListener("flip:item-added", function (event) {
    if (asked.checked) {
      addedAfterAsking.push(event.detail.text);
      keep();
    }
  });

  var section = document.getElementById("writeback");
  if (section && !section.hidden) poll();
})();
