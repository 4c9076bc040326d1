// devicetrack pages work without this file; it adds scanning comforts and the audit's
// offline queue. No libraries, no network but this site.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
  }

  function logLine(list, text, ok) {
    if (!list) return;
    var li = document.createElement("li");
    li.textContent = text;
    li.className = ok ? "ok" : "bad";
    list.insertBefore(li, list.firstChild);
  }

  // ---- tables as cards on a phone: each cell learns its column's name (app.css) -----
  document.querySelectorAll("table.list").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (heads.length < 3) return;
    var names = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
    table.classList.add("cards");
    if (table.querySelector("thead a")) table.classList.add("sortable");
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (names[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[i]);
      });
    });
  });

  // ---- receiving an allocation: every line in the box at each Enter, a running count ---
  // Nothing typed or pasted is dropped: each line comes back received or as a
  // discrepancy, and lines the server never answered go back into the box.
  var receive = document.querySelector("[data-receive]");
  if (receive) {
    var area = receive.querySelector("textarea");
    var received = 0, discrepancies = 0;
    var counter = receive.querySelector("[data-counter]");
    var log = receive.querySelector("[data-log]");
    var waiting = document.querySelector("[data-waiting]");
    var waitingCount = document.querySelector("[data-waiting-count]");
    var arrived = function (tag) {
      if (!waiting) return;
      var items = waiting.querySelectorAll("li[data-tag]");
      for (var i = 0; i < items.length; i++) {
        if (items[i].dataset.tag === tag) { items[i].remove(); break; }
      }
      var left = waiting.querySelectorAll("li[data-tag]").length;
      if (waitingCount) waitingCount.textContent = left;
      var nothing = waiting.querySelector("[data-nothing]");
      if (nothing) nothing.hidden = left > 0;
    };
    var show = function () {
      receive.querySelector("[data-received]").textContent = received;
      receive.querySelector("[data-discrepancies]").textContent = discrepancies;
    };
    var send = function () {
      var lines = area.value.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
      area.value = "";
      if (!lines.length) return;
      counter.hidden = false;
      post(receive.dataset.receive, { asset_tags: lines }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        if (!res.ok) {
          // Refused as a whole: every line is named with the reason.
          lines.forEach(function (line) {
            discrepancies += 1;
            logLine(log, "✗ " + line + " · " + (res.data.detail || res.data.title), false);
          });
        } else {
          received += res.data.received.length;
          discrepancies += res.data.discrepancies.length;
          res.data.received.forEach(function (t) { logLine(log, "✓ " + t, true); arrived(t); });
          res.data.discrepancies.forEach(function (d) { logLine(log, "✗ " + d.asset_tag + " · " + d.reason, false); });
        }
        show();
      }).catch(function () {
        // Offline or no answer: the lines go back into the box, to be sent again.
        area.value = lines.concat(area.value ? [area.value] : []).join("\n");
        logLine(log, "✗ " + lines.join(", ") + " · " + (document.body.dataset.offlineWord || "offline"), false);
      });
    };
    area.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey) return;  // Shift+Enter: a new line
      event.preventDefault();
      send();
    });
    area.form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  }

  // ---- audit mode: scans go to a queue in this browser, uploaded when online --------
  // A scan shows as waiting until the server has judged it: found (ticked off the list of
  // what is still expected), not expected here, or refused with the reason. A typo is
  // never shown as good first.
  var audit = document.querySelector("[data-audit]");
  if (audit) {
    var key = "devicetrack-audit-" + audit.dataset.audit;
    var form = audit.querySelector("[data-audit-form]");
    var input = form.querySelector("input[name=code]");
    var select = form.querySelector("select[name=condition]");
    var auditLog = audit.querySelector("[data-log]");
    var sending = false;
    var lines = [];  // the log line of each queued scan, in the queue's order

    var load = function () { try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; } };
    var save = function (queue) { localStorage.setItem(key, JSON.stringify(queue)); };
    var setAll = function (selector, value) {
      document.querySelectorAll(selector).forEach(function (el) { el.textContent = value; });
    };
    var waitingLine = function (code) {
      var li = document.createElement("li");
      li.className = "wait";
      li.textContent = "… " + code + " · " + (audit.dataset.waitingWord || "waiting");
      auditLog.insertBefore(li, auditLog.firstChild);
      return li;
    };
    var judge = function (li, text, ok) {
      if (!li) { logLine(auditLog, text, ok); return; }
      li.textContent = text;
      li.className = ok ? "ok" : "bad";
    };
    var tick = function (tag) {
      document.querySelectorAll("[data-still] li[data-tag]").forEach(function (li) {
        if (li.dataset.tag === tag) li.remove();
      });
    };
    var show = function () {
      var n = load().length;
      audit.querySelector("[data-queued]").textContent = n;
      audit.querySelector("[data-queue-text]").hidden = n === 0 && navigator.onLine;
      audit.querySelector("[data-offline]").hidden = navigator.onLine;
    };
    var flush = function () {
      var queue = load();
      if (sending || queue.length === 0) { show(); return Promise.resolve(true); }
      sending = true;
      var batch = queue.slice(0, 500);
      return post("/audits/" + audit.dataset.audit + "/scans.json", { scans: batch }).then(function (r) {
        if (r.ok) return r.json();
        if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 409) {
          // Refused for good (e.g. the audit was closed elsewhere): say why, and drop the
          // batch so the queue does not retry it for ever.
          return r.json().then(function (problem) {
            save(load().slice(batch.length));
            lines.splice(0, batch.length).forEach(function (li, i) {
              judge(li, "✗ " + (batch[i].code || "") + " · " + (problem.detail || problem.title), false);
            });
            sending = false; show();
            return null;
          });
        }
        throw new Error("retry later " + r.status);  // offline, signed out, busy: keep it
      }).then(function (data) {
        if (data === null) return false;
        save(load().slice(batch.length));
        var judged = lines.splice(0, batch.length);
        (data.entries || []).forEach(function (entry) {
          var li = judged[entry.index], code = entry.code || batch[entry.index].code || "";
          if (entry.outcome === "found") { judge(li, "✓ " + code, true); tick(code); }
          else if (entry.outcome === "unexpected") judge(li, "? " + code + " · " + (audit.dataset.unexpectedWord || "unexpected"), false);
          else judge(li, "✗ " + code + " · " + (entry.message || ""), false);
        });
        setAll("[data-found]", data.found_so_far);
        setAll("[data-missing]", data.missing_so_far);
        setAll("[data-on-loan]", data.on_loan_so_far);
        sending = false; show();
        return load().length ? flush() : true;
      }).catch(function () { sending = false; show(); return false; });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = input.value.trim();
      input.value = "";
      if (!code) return;
      var scan = { code: code, scanned_at: new Date().toISOString() };
      if (select && select.value) scan.condition = select.value;
      var queue = load(); queue.push(scan); save(queue);
      lines.push(waitingLine(code));
      show(); flush();
      input.focus();
    });
    audit.querySelector("[data-close-form]").addEventListener("submit", function (event) {
      if (load().length === 0) return;
      event.preventDefault();
      var closeForm = event.target;
      flush().then(function () { if (load().length === 0) closeForm.submit(); else show(); });
    });
    // Scans queued before this page was opened (offline, then reloaded) wait here too.
    load().forEach(function (scan) { lines.push(waitingLine(scan.code || "")); });
    window.addEventListener("online", flush);
    window.addEventListener("offline", show);
    setInterval(flush, 5000);
    show(); flush();
  }

  // ---- lending: the student list follows what is typed (the form still works alone) ---
  var lendSearch = document.querySelector("[data-lend-search]");
  var lendResults = document.querySelector("[data-lend-results]");
  if (lendSearch && lendResults) {
    var lendInput = lendSearch.querySelector("input[name=q]");
    var lendTimer = null, lendAsked = lendInput.value.trim(), lendSeq = 0;
    var lendFetch = function () {
      var q = lendInput.value.trim();
      if (q === lendAsked) return;
      lendAsked = q;
      var seq = ++lendSeq;
      fetch(lendSearch.dataset.lendSearch + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          // An older answer arriving late must not replace a newer one.
          if (html !== null && seq === lendSeq) lendResults.innerHTML = html;
        })
        .catch(function () { /* offline: the Search button still submits the form */ });
    };
    lendInput.addEventListener("input", function () {
      clearTimeout(lendTimer);
      lendTimer = setTimeout(lendFetch, 250);  // one request per pause, not per key
    });
  }

  // ---- the camera: phones whose browser has BarcodeDetector read the Code 128 label --
  if ("BarcodeDetector" in window) {
    var view = document.querySelector("[data-camera-view]");
    var video = view && view.querySelector("video");
    var stream = null, timer = null;
    var stop = function () {
      if (timer) clearInterval(timer);
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null; view.hidden = true;
    };
    var deliver = function (code) {
      var target = document.querySelector("[data-scan-target]");
      if (!target) { window.location = "/scan?code=" + encodeURIComponent(code); return; }
      target.value = target.tagName === "TEXTAREA" ? (target.value + "\n" + code).trim() : code;
      if (target.tagName === "TEXTAREA") {
        target.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
      } else if (target.form) {
        target.form.requestSubmit();
      }
    };
    document.querySelectorAll("[data-camera]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var detector = new window.BarcodeDetector({ formats: ["code_128"] });
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
          stream = s; video.srcObject = s; view.hidden = false; video.play();
          var last = "";
          timer = setInterval(function () {
            detector.detect(video).then(function (codes) {
              if (codes.length && codes[0].rawValue !== last) {
                last = codes[0].rawValue;
                if (!document.querySelector("[data-scan-target]")) stop();
                deliver(last);
              }
            });
          }, 300);
        }).catch(stop);
      });
    });
    var close = document.querySelector("[data-camera-close]");
    if (close) close.addEventListener("click", stop);
  }

  // ---- a photo instead of the camera: where the browser has no BarcodeDetector (iPhone
  // Safari, Firefox), "Take a photo" sends a picture of the label (or of a box of labels)
  // and the server reads every Code 128 and QR code in it (/scan/image.json) -----------
  if (!("BarcodeDetector" in window)) {
    var say = function (text, ok) {
      var list = document.querySelector("[data-log]");
      if (list) { logLine(list, text, ok); return; }
      var note = document.querySelector("[data-photo-note]");
      if (!note) {
        note = document.createElement("p");
        note.setAttribute("data-photo-note", "");
        note.setAttribute("role", "status");
        var main = document.getElementById("main");
        main.insertBefore(note, main.firstChild);
      }
      note.className = ok ? "notice" : "problem";
      note.textContent = text;
    };
    var hand = function (tags) {
      // A page that collects scans gets every tag, as a scanner would type them;
      // elsewhere the first device opens (on the lend page: lending that one instead).
      var target = document.querySelector("[data-scan-target]");
      var goto = document.querySelector("[data-photo-goto]");
      if (!target) {
        var suffix = goto ? goto.getAttribute("data-photo-goto") : "";
        window.location = "/devices/" + encodeURIComponent(tags[0]) + suffix;
        return;
      }
      if (target.tagName === "TEXTAREA") {  // a list: every tag on its line, one Enter
        target.value = (target.value + "\n" + tags.join("\n")).trim();
        target.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        return;
      }
      tags.forEach(function (tag) {
        target.value = tag;
        if (target.form) target.form.requestSubmit();
      });
    };
    document.querySelectorAll("[data-photo]").forEach(function (label) {
      var input = label.querySelector("input[type=file]");
      label.hidden = false;
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        if (!file) return;
        var body = new FormData();
        body.append("file", file);
        label.classList.add("busy");
        fetch("/scan/image.json", {
          method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: body,
        }).then(function (r) {
          return r.json().then(function (data) { return { ok: r.ok, data: data }; });
        }).then(function (res) {
          label.classList.remove("busy");
          input.value = "";
          if (!res.ok) { say(res.data.detail || res.data.title, false); return; }
          var tags = res.data.items.map(function (d) { return d.asset_tag; });
          if (tags.length) { hand(tags); return; }
          var why = res.data.codes.map(function (c) { return c.text + " · " + c.problem; });
          say(why.join("; "), false);
        }).catch(function () {
          label.classList.remove("busy");
          say(document.body.dataset.offlineWord || "offline", false);
        });
      });
    });
  }

  // ---- the signature pad (templates/_signature_pad.html): a finger draws on a canvas ---
  // with pointer events; each stroke's end puts the drawing, as a PNG, into the form's
  // `signature` file input. Without this script (or DataTransfer) the pad stays hidden
  // and the photo of the signed paper is the way.
  document.querySelectorAll("[data-signature]").forEach(function (box) {
    var pad = box.querySelector("[data-pad]");
    var canvas = box.querySelector("[data-pad-canvas]");
    var file = box.querySelector("[data-pad-file]");
    if (!pad || !canvas || !file || !canvas.getContext || !canvas.toBlob) return;
    try { new DataTransfer(); } catch (e) { return; }
    var ctx = canvas.getContext("2d");
    var drawing = false, last = null, signed = false;
    pad.hidden = false;
    function at(e) {
      var r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
    }
    function keep() {
      canvas.toBlob(function (blob) {
        if (!blob) return;
        var dt = new DataTransfer();
        dt.items.add(new File([blob], "signature.png", { type: "image/png" }));
        file.files = dt.files;
      }, "image/png");
    }
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true; last = at(e); signed = true;
      canvas.setPointerCapture(e.pointerId);
      ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#0a1f5c";
      ctx.beginPath(); ctx.arc(last.x, last.y, 1.5, 0, 2 * Math.PI); ctx.fill();
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = at(e);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      last = p;
      e.preventDefault();
    });
    function end() { if (drawing) { drawing = false; if (signed) keep(); } }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    box.querySelector("[data-pad-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      signed = false;
      file.value = "";
    });
  });
})();
