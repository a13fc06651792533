// The call page: audio follows the transcript, evidence seeks, decisions save as they are made.
// Plain JS, no libraries: the UI must work on a closed network.
(function () {
  "use strict";
  var root = document.getElementById("call");
  if (!root) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var audio = document.getElementById("audio");
  var statusEl = document.getElementById("save-status");
  var state = { reviewId: +root.dataset.reviewId || 0, version: +root.dataset.version || 0 };

  function say(text, bad) {
    statusEl.textContent = text;
    statusEl.className = "savestatus" + (bad ? " bad" : " ok");
  }

  function post(url, body) {
    body.review_id = state.reviewId;
    body.version = state.version;
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return { ok: false, error: "HTTP " + resp.status }; })
        .then(function (data) {
          if (resp.ok && data.ok) {
            state.reviewId = data.review_id || state.reviewId;
            state.version = data.version || state.version;
            root.dataset.reviewId = state.reviewId; root.dataset.version = state.version;
            Object.keys(data.final_scores || {}).forEach(function (rid) {
              var el = root.querySelector('[data-final="' + rid + '"]');
              var v = data.final_scores[rid];
              if (el) el.textContent = v === null ? "—" : Math.round(v);
            });
            return data;
          }
          var msg = data.error || ("HTTP " + resp.status);
          if (resp.status === 409) msg = "Not saved: " + msg;
          say(msg, true);
          throw new Error(msg);
        });
    });
  }

  // ---- audio and highlighting
  function seek(t) {
    if (!audio || isNaN(t)) return;
    audio.currentTime = Math.max(0, t);
    var p = audio.play(); if (p && p.catch) p.catch(function () {});
  }
  var timed = Array.prototype.slice.call(root.querySelectorAll("#transcript .w[data-s]"));
  if (!timed.length) timed = Array.prototype.slice.call(root.querySelectorAll("#transcript .turn[data-s]"));
  var starts = timed.map(function (el) { return parseFloat(el.dataset.s); });
  var current = null;
  var duration = parseFloat(document.getElementById("transcript").dataset.duration) || 0;
  var playhead = document.getElementById("playhead");

  function find(t) {
    var lo = 0, hi = starts.length - 1, best = -1;
    while (lo <= hi) { var mid = (lo + hi) >> 1; if (starts[mid] <= t) { best = mid; lo = mid + 1; } else hi = mid - 1; }
    if (best < 0) return null;
    var el = timed[best];
    return t <= parseFloat(el.dataset.e) + 0.05 ? el : null;
  }
  function tick() {
    if (!audio) return;
    var t = audio.currentTime;
    var el = find(t);
    if (el !== current) {
      if (current) current.classList.remove("now");
      if (el) {
        el.classList.add("now");
        var turn = el.closest(".turn"), box = document.getElementById("transcript");
        if (turn && (turn.offsetTop < box.scrollTop || turn.offsetTop > box.scrollTop + box.clientHeight - 40))
          box.scrollTop = turn.offsetTop - 40;
      }
      current = el;
    }
    if (playhead && duration) { var x = 1000 * t / duration; playhead.setAttribute("x1", x); playhead.setAttribute("x2", x); }
  }
  function loop() { tick(); if (audio && !audio.paused) requestAnimationFrame(loop); }
  if (audio) {
    audio.addEventListener("play", function () { requestAnimationFrame(loop); });
    audio.addEventListener("seeked", tick);
    audio.addEventListener("timeupdate", tick);
  }
  root.addEventListener("click", function (ev) {
    if (pickFromClick(ev)) return;
    var t = ev.target.closest(".w[data-s], .seek[data-s], .ev");
    if (!t) return;
    if (t.classList.contains("ev")) {
      var turn = document.getElementById("turn-" + t.dataset.turn);
      if (turn) { turn.scrollIntoView({ block: "center" }); turn.classList.add("flash-turn"); setTimeout(function () { turn.classList.remove("flash-turn"); }, 1500); }
      if (t.dataset.s) seek(parseFloat(t.dataset.s));
      return;
    }
    seek(parseFloat(t.dataset.s));
  });
  var lanes = document.getElementById("lanes");
  if (lanes && duration) lanes.addEventListener("click", function (ev) {
    var r = lanes.getBoundingClientRect();
    seek(duration * (ev.clientX - r.left) / r.width);
  });

  // ---- clips: a time range from the player, or an evidence item's range with padding
  var clipStart = document.getElementById("clip-start"), clipEnd = document.getElementById("clip-end");
  function showSelection() {
    var sel = document.getElementById("selection");
    if (!sel || !duration || !clipStart) return;
    var a = parseFloat(clipStart.value), b = parseFloat(clipEnd.value);
    if (isNaN(a) || isNaN(b) || b <= a) { sel.setAttribute("width", 0); return; }
    sel.setAttribute("x", 1000 * a / duration); sel.setAttribute("width", 1000 * (b - a) / duration);
  }
  function mark(which) {
    if (!audio || !clipStart) return;
    (which === "start" ? clipStart : clipEnd).value = audio.currentTime.toFixed(2);
    showSelection();
  }
  if (clipStart) {
    document.getElementById("mark-start").addEventListener("click", function () { mark("start"); });
    document.getElementById("mark-end").addEventListener("click", function () { mark("end"); });
    clipStart.addEventListener("input", showSelection); clipEnd.addEventListener("input", showSelection);
    root.addEventListener("click", function (ev) {
      var b = ev.target.closest(".clip-ev");
      if (!b) return;
      clipStart.value = parseFloat(b.dataset.s).toFixed(2);
      clipEnd.value = parseFloat(b.dataset.e).toFixed(2);
      var pad = document.getElementById("clip-padding"); if (!+pad.value) pad.value = 2;
      document.getElementById("clip-criterion").value = b.dataset.criterion;
      showSelection();
      document.getElementById("clip-form").scrollIntoView({ block: "center" });
      document.getElementById("clip-note").focus();
    });
  }

  // ---- criteria: accept / override, saved one by one
  var crits = Array.prototype.slice.call(root.querySelectorAll("li.crit"));
  var focusIdx = -1;
  function focusCrit(i) {
    if (!crits.length) return;
    focusIdx = Math.max(0, Math.min(crits.length - 1, i));
    var li = crits[focusIdx], card = li.closest("details");
    if (card && !card.open) card.open = true;
    crits.forEach(function (c) { c.classList.remove("current"); });
    li.classList.add("current"); li.focus();
  }
  function decided(li, d) {
    li.classList.add("decided");
    var p = li.querySelector(".decision");
    p.textContent = (d.decision === "accept" ? "Accepted" : "Overridden to " + d.result) +
      " by " + d.by + (d.reason ? ": " + d.reason : "");
    if (d.turn !== null && d.turn !== undefined) {
      var b = document.createElement("button");
      b.type = "button"; b.className = "ev link pointed"; b.dataset.turn = d.turn;
      b.textContent = "pointed at turn " + (d.turn + 1) + ": \u201c" + (d.turn_words || "") + "\u201d";
      p.appendChild(document.createTextNode(" \u00b7 ")); p.appendChild(b);
    }
  }
  function accept(li) {
    return post(root.dataset.decideUrl, { rubric_id: li.dataset.rubric, criterion_id: li.dataset.criterion, decision: "accept" })
      .then(function (data) { decided(li, data.decision); say("Saved: accepted " + li.querySelector(".name").textContent); });
  }
  // One override form, moved into the criterion being overridden.
  var overrideForm = document.getElementById("override-form");
  var overrideLi = null;
  // Pointing at the turn (optional): while the override form is open, a click on a transcript line
  // (or Enter on it: the lines are focusable then) chooses it, and its index goes with the override.
  var box = document.getElementById("transcript");
  var lines = box ? Array.prototype.slice.call(box.querySelectorAll(".turn[data-turn]")) : [];
  function setPicking(on) {
    if (!box) return;
    box.classList.toggle("picking", on);
    lines.forEach(function (line) {
      if (on) { line.setAttribute("tabindex", "0"); line.setAttribute("aria-describedby", "point-turn-help"); }
      else { line.removeAttribute("tabindex"); line.removeAttribute("aria-describedby"); }
    });
  }
  function firstWords(line) {
    var words = (line.querySelector(".text").textContent || "").trim().split(/\s+/);
    return words.slice(0, 8).join(" ") + (words.length > 8 ? " \u2026" : "");
  }
  function pickTurn(line) {
    lines.forEach(function (l) { l.classList.remove("picked"); l.removeAttribute("aria-current"); });
    var shown = overrideForm.querySelector(".picked-turn"), clear = overrideForm.querySelector(".clear-turn");
    overrideForm.turn.value = line ? line.dataset.turn : "";
    shown.textContent = line ? "Turn " + (+line.dataset.turn + 1) + " chosen: \u201c" + firstWords(line) + "\u201d" : "No turn chosen.";
    clear.hidden = !line;
    if (line) { line.classList.add("picked"); line.setAttribute("aria-current", "true"); }
  }
  function pickFromClick(ev) {  // true: the click only picks (a word does not seek meanwhile)
    var line = overrideLi && ev.target.closest("#transcript .turn[data-turn]");
    if (!line) return false;
    pickTurn(line);
    return !ev.target.closest(".seek");  // the line's time button still plays from there
  }
  if (box) box.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || !overrideLi || !ev.target.matches(".turn[data-turn]")) return;
    ev.preventDefault(); pickTurn(ev.target);
  });
  function openOverride(li) {
    if (!overrideForm) return;
    closeOverride();
    overrideLi = li;
    li.appendChild(overrideForm);
    var sel = overrideForm.result;
    for (var k = 0; k < sel.options.length; k++) if (sel.options[k].value !== li.dataset.auto) { sel.selectedIndex = k; break; }
    overrideForm.reason.value = "";
    pickTurn(null); setPicking(true);
    overrideForm.hidden = false;
    li.querySelector(".override-open").setAttribute("aria-expanded", "true");
    sel.focus();
  }
  function closeOverride() {
    if (!overrideForm || !overrideLi) return;
    overrideForm.hidden = true;
    pickTurn(null); setPicking(false);
    overrideLi.querySelector(".override-open").setAttribute("aria-expanded", "false");
    overrideLi = null;
  }
  if (overrideForm) {
    overrideForm.querySelector(".clear-turn").addEventListener("click", function () { pickTurn(null); });
    overrideForm.querySelector(".cancel").addEventListener("click", function () {
      var li = overrideLi; closeOverride(); if (li) li.focus();
    });
    overrideForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var li = overrideLi, i = crits.indexOf(li);
      var reason = overrideForm.reason.value.trim();
      if (!li) return;
      if (!reason) { say("An override needs a reason.", true); overrideForm.reason.focus(); return; }
      var turn = overrideForm.turn.value;
      post(root.dataset.decideUrl, { rubric_id: li.dataset.rubric, criterion_id: li.dataset.criterion,
        decision: "override", result: overrideForm.result.value, reason: reason, turn: turn === "" ? null : +turn })
        .then(function (data) {
          decided(li, data.decision); closeOverride();
          say("Saved: override of " + li.querySelector(".name").textContent); focusCrit(i + 1);
        }, function () {});
    });
  }
  crits.forEach(function (li, i) {
    var a = li.querySelector("button.accept");
    if (a) a.addEventListener("click", function () { focusIdx = i; accept(li).then(function () { focusCrit(i + 1); }, function () {}); });
    var o = li.querySelector(".override-open");
    if (o) o.addEventListener("click", function () { focusIdx = i; openOverride(li); });
  });
  Array.prototype.forEach.call(root.querySelectorAll(".accept-rest"), function (b) {
    b.addEventListener("click", function () {
      post(root.dataset.acceptUrl, { rubric_id: b.dataset.rubric }).then(function (data) {
        Object.keys(data.results).forEach(function (key) {
          var parts = key.split("/"), li = document.getElementById("crit-" + parts[0] + "-" + parts[1]);
          if (li && !li.classList.contains("decided")) decided(li, { decision: "accept", result: data.results[key], by: "you" });
        });
        say("Saved: accepted " + data.accepted + " criteria.");
      }, function () {});
    });
  });
  var saveComment = document.getElementById("save-comment");
  if (saveComment) saveComment.addEventListener("click", function () {
    post(root.dataset.commentUrl, { comment: document.getElementById("comment").value }).then(function () { say("Comment saved."); }, function () {});
  });
  var submit = document.getElementById("submit-review");
  if (submit) submit.addEventListener("click", function () {
    var c = document.getElementById("comment").value;
    post(root.dataset.commentUrl, { comment: c }).then(function () {
      return post(root.dataset.submitUrl, {});
    }).then(function () { say("Review submitted."); setTimeout(function () { location.reload(); }, 600); }, function () {});
  });

  // ---- keyboard shortcuts (not while typing)
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === "input" || tag === "textarea" || tag === "select") return;
    var k = ev.key.toLowerCase();
    if (k === " " && tag !== "button" && tag !== "audio" && audio) { ev.preventDefault(); if (audio.paused) audio.play(); else audio.pause(); }
    else if (k === "j") { ev.preventDefault(); focusCrit(focusIdx + 1); }
    else if (k === "k") { ev.preventDefault(); focusCrit(focusIdx - 1); }
    else if (k === "a" && focusIdx >= 0) { ev.preventDefault(); var i = focusIdx; accept(crits[i]).then(function () { focusCrit(i + 1); }, function () {}); }
    else if (k === "o" && focusIdx >= 0) { ev.preventDefault(); openOverride(crits[focusIdx]); }
    else if (k === "[") mark("start");
    else if (k === "]") mark("end");
  });
})();
