// devicetrack pages work without this file; it adds scanning comforts and the outbox:
// receiving, lending, taking back and audit scans work offline. No libraries, no network
// but this site.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

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

  // ---- the outbox: receive, lend, return and audit scans kept in this browser ----------
  // Every such action goes into IndexedDB first, with its own Idempotency-Key, and is sent
  // in the order it was made, now or when the connection returns; a retry of an action the
  // server already carried out gets its first answer (never a second loan). What the
  // server refuses (the device was lent meanwhile, the student left) stays listed with
  // what to do until the user removes it: nothing is dropped silently. The actions belong
  // to the user who made them: another user signed in on the same phone never sends them.
  var meta = document.querySelector('meta[name="dt-user"]');
  var me = meta ? meta.content : "";
  var box = document.querySelector("[data-outbox-panel]");
  var words = box ? box.dataset : {};
  var callbacks = {};  // an action's local id -> what its page does with the answer
  var blocked = false;  // signed out or the form expired: wait for a reload

  var newKey = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);  // plain-HTTP intranets have no randomUUID
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  };
  var opened = null;
  var database = function () {
    if (!opened) opened = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var open = indexedDB.open("devicetrack", 1);
      open.onupgradeneeded = function () {
        open.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });  // ids keep the order
      };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
    return opened;
  };
  var store = function (mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("outbox", mode), result;
        var request = work(tx.objectStore("outbox"));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  };
  var everything = function () {
    return store("readonly", function (s) { return s.getAll(); }).catch(function () { return []; });
  };
  var mine = function (actions, state) {
    return actions.filter(function (a) { return a.user === me && a.state === state; });
  };
  var size = function (a) { return a.json && a.json.scans ? a.json.scans.length : 1; };

  var tell = function (a, outcome, data) {
    (a.lids || []).forEach(function (lid, i) {
      if (callbacks[lid]) callbacks[lid](outcome, data, i);
      if (outcome !== "kept") delete callbacks[lid];
    });
  };

  var show = function () {
    if (!box) return Promise.resolve();
    return everything().then(function (actions) {
      var waiting = mine(actions, "waiting").reduce(function (n, a) { return n + size(a); }, 0);
      var refused = mine(actions, "refused");
      var others = actions.filter(function (a) { return a.user !== me; }).length;
      box.querySelector("[data-outbox-count]").textContent = waiting;
      box.querySelector("[data-outbox-waiting]").hidden = waiting === 0;
      box.querySelector("[data-outbox-offline]").hidden = navigator.onLine;
      box.querySelector("[data-outbox-signin]").hidden = !blocked || waiting === 0;
      box.querySelector("[data-outbox-others]").hidden = others === 0;
      var list = box.querySelector("[data-outbox-conflicts]");
      var template = box.querySelector("[data-outbox-conflict]");
      list.textContent = "";
      refused.forEach(function (a) {
        var li = template.content.firstElementChild.cloneNode(true);
        li.setAttribute("data-conflict", a.kind);
        li.querySelector("[data-what]").textContent = (words[a.kind + "Word"] || a.kind) + " " + a.label + ":";
        li.querySelector("[data-why]").textContent = a.problem.detail || a.problem.title;
        li.querySelector("[data-hint]").textContent = words["hint" + a.kind.charAt(0).toUpperCase() + a.kind.slice(1)] || "";
        li.querySelector("[data-open]").href = a.open || "/";
        li.querySelector("[data-dismiss]").addEventListener("click", function () {
          store("readwrite", function (s) { return s.delete(a.id); }).then(show);
        });
        list.appendChild(li);
      });
      box.hidden = waiting === 0 && refused.length === 0 && others === 0;
      return waiting;
    });
  };

  // Audit scans made one after another go up as one batch (one key): merged before their
  // first attempt only, so a retry always sends the very body its key was first sent with.
  var coalesce = function (queue) {
    var head = queue[0], merged = [];
    if (head.kind === "audit" && !head.tried) {
      for (var i = 1; i < queue.length && size(head) < 500; i++) {
        var a = queue[i];
        if (a.kind !== "audit" || a.url !== head.url || a.tried) break;
        head.json.scans = head.json.scans.concat(a.json.scans);
        head.lids = head.lids.concat(a.lids);
        merged.push(a.id);
      }
    }
    head.tried = true;
    return store("readwrite", function (s) {
      merged.forEach(function (id) { s.delete(id); });
      return s.put(head);
    }).then(function () { return head; });
  };

  var settle = function (a, r, data) {
    if (r.ok) {
      blocked = false;
      return store("readwrite", function (s) { return s.delete(a.id); }).then(function () {
        tell(a, "sent", data);
        return true;
      });
    }
    var kind = String(data.type || "").split("/").pop();
    if (r.status === 401 || kind === "csrf") { blocked = true; return false; }
    if (r.status >= 500 || r.status === 408 || r.status === 429 || kind === "idempotency-key-in-flight") return false;
    // Refused for good: kept, with the reason, until the user has dealt with it.
    a.state = "refused";
    a.problem = { status: r.status, title: data.title || String(r.status), detail: data.detail || "" };
    return store("readwrite", function (s) { return s.put(a); }).then(function () {
      tell(a, "refused", data);
      return true;
    });
  };

  var send = function (a) {
    var headers = { "X-CSRF-Token": csrf, "Idempotency-Key": a.key, Accept: "application/json" };
    var body;
    if (a.json) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(a.json);
    } else {
      var files = a.fields.some(function (f) { return f[1] instanceof Blob; });
      body = files ? new FormData() : new URLSearchParams();
      a.fields.forEach(function (f) { body.append(f[0], f[1]); });
    }
    return fetch(a.url, { method: "POST", credentials: "same-origin", headers: headers, body: body })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return settle(a, r, data); });
      }, function () { tell(a, "kept"); return false; });  // no connection: kept, sent later
  };

  var flushing = null;
  var flush = function () {
    if (flushing) return flushing;
    var step = function () {
      return everything().then(function (actions) {
        var queue = mine(actions, "waiting");
        if (!queue.length || blocked) return queue.length === 0;
        if (!navigator.onLine) {
          // Surely offline: not even tried, so the audit's scans can still go up as one batch.
          queue.forEach(function (a) { tell(a, "kept"); });
          return false;
        }
        return coalesce(queue).then(send).then(function (go) { return go ? step() : false; });
      });
    };
    flushing = step().catch(function () { return false; }).then(function (done) {
      flushing = null;
      return show().then(function () { return done; });
    });
    return flushing;
  };

  // Put an action in the outbox and send what is waiting; `then(outcome, data, i)` hears
  // its answer ("sent", "refused", or "kept" while there is no connection).
  var outbox = function (action, then) {
    action.user = me;
    action.key = newKey();
    action.state = "waiting";
    action.at = new Date().toISOString();
    action.lids = action.lids || [action.key];
    action.lids.forEach(function (lid) { if (then) callbacks[lid] = then; });
    return store("readwrite", function (s) { return s.add(action); }).then(flush);
  };
  var waitingFor = function (url) {
    return everything().then(function (actions) {
      return mine(actions, "waiting").filter(function (a) { return a.url === url; });
    });
  };

  if (me && window.indexedDB) {
    window.addEventListener("online", function () { blocked = false; flush(); });
    window.addEventListener("offline", show);
    setInterval(flush, 10000);
    flush();
  }

  // ---- installable, and readable offline: the service worker (sw.js) keeps the shell and
  // the pages opened; this keeps the offline page and the school's snapshot ahead of need.
  if (me && "serviceWorker" in navigator && window.caches) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* plain HTTP: no worker */ });
    if (localStorage.getItem("dt-user") !== me) {
      // Another user signed in on this phone: their kept pages go.
      caches.delete("dt-pages");
      localStorage.removeItem("dt-warmed");
      localStorage.setItem("dt-user", me);
    }
    var warmed = Number(localStorage.getItem("dt-warmed") || 0);
    if (navigator.onLine && Date.now() - warmed > 30 * 60 * 1000) {
      var schools = (meta.dataset.schools || "").split(",").filter(Boolean);
      var urls = ["/offline"].concat(schools.map(function (id) { return "/schools/" + id + "/offline.json"; }));
      caches.open("dt-pages").then(function (cache) {
        return Promise.all(urls.map(function (url) {
          // A snapshot is asked for with the ETag of the copy kept: unchanged, the server
          // answers 304 with no body and logs no reads (nothing new was shown), and the
          // copy is kept afresh, as a 200 would have been. (A request carrying
          // If-None-Match bypasses the browser's HTTP cache, so the 304 reaches here,
          // through sw.js, which keeps only 200s.)
          return cache.match(url).then(function (old) {
            var etag = old && old.headers.get("etag");
            return fetch(url, { credentials: "same-origin", headers: etag ? { "If-None-Match": etag } : {} })
              .then(function (r) { return r.status === 304 && old ? old : r; });
          }).then(function (r) {
            if (!r.ok || r.redirected) throw new Error("not kept " + url);
            var headers = new Headers(r.headers);
            headers.set("x-dt-kept-at", String(Date.now()));  // as sw.js keeps a page
            return r.blob().then(function (body) {
              return cache.put(url, new Response(body, { status: r.status, headers: headers }));
            });
          });
        }));
      }).then(function () { localStorage.setItem("dt-warmed", String(Date.now())); }).catch(function () {});
    }
  }

  // ---- signing out: a shared phone keeps nothing of this user (the server's
  // Clear-Site-Data says so too); actions still waiting are only deleted if the user agrees.
  var signOut = document.querySelector("form[action='/logout']");
  if (signOut && me) {
    signOut.addEventListener("submit", function (event) {
      if (signOut.dataset.confirmed) return;
      event.preventDefault();
      everything().then(function (actions) {
        if (mine(actions, "waiting").length && !window.confirm(words.signoutWord || "")) return;
        var wipe = [];
        if (window.caches) wipe.push(caches.keys().then(function (keys) {
          return Promise.all(keys.map(function (k) { return caches.delete(k); }));
        }));
        wipe.push(database().then(function (db) {
          db.close();
          return new Promise(function (resolve) {
            var gone = indexedDB.deleteDatabase("devicetrack");
            gone.onsuccess = gone.onerror = gone.onblocked = function () { resolve(); };
          });
        }).catch(function () {}));
        localStorage.removeItem("dt-warmed");
        Promise.all(wipe).then(function () {
          signOut.dataset.confirmed = "1";
          signOut.submit();
        });
      });
    });
  }

  // ---- lend and take back through the outbox: online, the next page opens as without
  // the script; offline, the form says it was kept and the page stays.
  document.querySelectorAll("form[data-outbox]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.indexedDB || !me) return;  // the form posts as without the script
      event.preventDefault();
      var fields = [];
      new FormData(form).forEach(function (value, name) {
        if (name !== "_csrf") fields.push([name, value]);  // the header carries the current one
      });
      var tag = form.dataset.tag;
      var who = form.querySelector("input[name=student_id]:checked");
      var name = who ? who.closest("label").querySelector("span").textContent : form.dataset.holder;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      var note = form.parentNode.querySelector("[data-outbox-saved]");
      outbox({
        kind: form.dataset.outbox,
        url: form.getAttribute("action") + ".json",
        fields: fields,
        tag: tag,
        student_id: who ? who.value : (form.querySelector("input[name=student_id]") || {}).value,
        label: tag + (name ? " · " + name : ""),
        open: "/devices/" + encodeURIComponent(tag),
      }, function (outcome, data) {
        if (outcome === "sent" && data.next) { window.location = data.next; return; }
        if (outcome === "refused") { button.disabled = false; if (note) note.remove(); return; }
        if (outcome === "kept" && !note) {
          note = document.createElement("p");
          note.className = "notice";
          note.setAttribute("role", "status");
          note.setAttribute("data-outbox-saved", "");
          note.textContent = words.savedWord || "";
          form.parentNode.insertBefore(note, form);
        }
      }).catch(function () { form.submit(); });  // no IndexedDB after all: as without script
    });
  });

  // ---- receiving an allocation: every line in the box at each Enter, a running count ---
  // Nothing typed or pasted is dropped: each line comes back received or as a
  // discrepancy; offline, the lines wait in the outbox and are sent when it returns.
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
    var showCount = function () {
      receive.querySelector("[data-received]").textContent = received;
      receive.querySelector("[data-discrepancies]").textContent = discrepancies;
    };
    var pending = function (lines) {
      var li = document.createElement("li");
      li.className = "wait";
      li.textContent = "… " + lines.join(", ") + " · " + (words.waitingWord || "waiting");
      log.insertBefore(li, log.firstChild);
      return function (outcome, data) {
        if (outcome === "kept") return;
        li.remove();
        counter.hidden = false;
        if (outcome === "refused") {
          // Refused as a whole: every line is named with the reason.
          lines.forEach(function (line) {
            discrepancies += 1;
            logLine(log, "✗ " + line + " · " + (data.detail || data.title), false);
          });
        } else {
          received += data.received.length;
          discrepancies += data.discrepancies.length;
          data.received.forEach(function (t) { logLine(log, "✓ " + t, true); arrived(t); });
          data.discrepancies.forEach(function (d) { logLine(log, "✗ " + d.asset_tag + " · " + d.reason, false); });
        }
        showCount();
      };
    };
    var sendLines = function () {
      var lines = area.value.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
      area.value = "";
      if (!lines.length) return;
      outbox({
        kind: "receive", url: receive.dataset.receive, json: { asset_tags: lines },
        label: lines.join(", "), open: window.location.pathname,
      }, pending(lines)).catch(function () {
        area.value = lines.join("\n");  // no IndexedDB after all: the form sends the box
        area.form.submit();
      });
    };
    // Lines kept before this page was opened (offline, then reloaded) wait here too.
    waitingFor(receive.dataset.receive).then(function (queued) {
      queued.forEach(function (a) { callbacks[a.lids[0]] = pending(a.json.asset_tags); });
    });
    area.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey) return;  // Shift+Enter: a new line
      event.preventDefault();
      sendLines();
    });
    area.form.addEventListener("submit", function (event) {
      if (!window.indexedDB) return;  // the form receives the box as without the script
      event.preventDefault();
      sendLines();
    });
  }

  // ---- audit mode: scans go to the outbox, uploaded as they come or when back online ---
  // A scan shows as waiting until the server has judged it: found (ticked off the list of
  // what is still expected), not expected here, or refused with the reason. A typo is
  // never shown as good first.
  var audit = document.querySelector("[data-audit]");
  if (audit && window.indexedDB) {
    var scansUrl = "/audits/" + audit.dataset.audit + "/scans.json";
    var form = audit.querySelector("[data-audit-form]");
    var input = form.querySelector("input[name=code]");
    var select = form.querySelector("select[name=condition]");
    var auditLog = audit.querySelector("[data-log]");
    var setAll = function (selector, value) {
      document.querySelectorAll(selector).forEach(function (el) { el.textContent = value; });
    };
    var tick = function (tag) {
      document.querySelectorAll("[data-still] li[data-tag]").forEach(function (li) {
        if (li.dataset.tag === tag) li.remove();
      });
    };
    var showQueue = function () {
      return waitingFor(scansUrl).then(function (queued) {
        var n = queued.reduce(function (sum, a) { return sum + size(a); }, 0);
        audit.querySelector("[data-queued]").textContent = n;
        audit.querySelector("[data-queue-text]").hidden = n === 0 && navigator.onLine;
        audit.querySelector("[data-offline]").hidden = navigator.onLine;
        return n;
      });
    };
    var judged = function (code) {
      var li = document.createElement("li");
      li.className = "wait";
      li.textContent = "… " + code + " · " + (audit.dataset.waitingWord || "waiting");
      auditLog.insertBefore(li, auditLog.firstChild);
      var judge = function (text, ok) { li.textContent = text; li.className = ok ? "ok" : "bad"; };
      return function (outcome, data, i) {
        if (outcome === "kept") { showQueue(); return; }
        if (outcome === "refused") {
          // Refused for good (e.g. the audit was closed elsewhere): the outbox lists it too.
          judge("✗ " + code + " · " + (data.detail || data.title), false);
        } else {
          var entry = (data.entries || [])[i] || {};
          var seen = entry.code || code;
          if (entry.outcome === "found") { judge("✓ " + seen, true); tick(seen); }
          else if (entry.outcome === "unexpected") judge("? " + seen + " · " + (audit.dataset.unexpectedWord || "unexpected"), false);
          else judge("✗ " + seen + " · " + (entry.message || ""), false);
          setAll("[data-found]", data.found_so_far);
          setAll("[data-missing]", data.missing_so_far);
          setAll("[data-on-loan]", data.on_loan_so_far);
        }
        showQueue();
      };
    };
    var scanOf = function (code, condition, at) {
      var scan = { code: code, scanned_at: at || new Date().toISOString() };
      if (condition) scan.condition = condition;
      return scan;
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = input.value.trim();
      input.value = "";
      if (!code) return;
      var lid = newKey();
      callbacks[lid] = judged(code);
      outbox({
        kind: "audit", url: scansUrl, json: { scans: [scanOf(code, select && select.value)] },
        lids: [lid], label: code, open: "/audits/" + audit.dataset.audit,
      }).then(showQueue, function () {
        input.value = code;  // no IndexedDB after all: the form sends the scan
        form.submit();
      });
      showQueue();
      input.focus();
    });
    audit.querySelector("[data-close-form]").addEventListener("submit", function (event) {
      var closeForm = event.target;
      if (closeForm.dataset.flushed) return;
      event.preventDefault();
      flush().then(showQueue).then(function (n) {
        if (n === 0) { closeForm.dataset.flushed = "1"; closeForm.submit(); }
      });
    });
    // Scans kept before this page was opened (offline, then reloaded) wait here too; so do
    // those of the audit's old queue (localStorage, before the outbox), moved into it.
    var old = "devicetrack-audit-" + audit.dataset.audit;
    var legacy = [];
    try { legacy = JSON.parse(localStorage.getItem(old) || "[]"); } catch (e) { legacy = []; }
    localStorage.removeItem(old);
    Promise.all(legacy.map(function (scan) {
      var lid = newKey();
      callbacks[lid] = judged(scan.code || "");
      return outbox({
        kind: "audit", url: scansUrl, json: { scans: [scanOf(scan.code || "", scan.condition, scan.scanned_at)] },
        lids: [lid], label: scan.code || "", open: "/audits/" + audit.dataset.audit,
      });
    })).then(function () { return waitingFor(scansUrl); }).then(function (queued) {
      queued.forEach(function (a) {
        a.json.scans.forEach(function (scan, i) {
          if (!callbacks[a.lids[i]]) callbacks[a.lids[i]] = judged(scan.code);
        });
      });
      window.addEventListener("online", showQueue);
      window.addEventListener("offline", showQueue);
      showQueue();
    });
  }

  // ---- a school's snapshot (pages_offline.py), kept by sw.js: the students to lend to
  // and who holds each device, for the lend and return forms drawn offline ---------------
  var fold = function (text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();
  };
  var snapshotOf = function (tag) {
    var ids = meta ? (meta.dataset.schools || "").split(",").filter(Boolean) : [];
    return Promise.all(ids.map(function (id) {
      return fetch("/schools/" + id + "/offline.json", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
    })).then(function (snapshots) {
      var found = null;
      snapshots.forEach(function (snap) {
        (snap ? snap.devices : []).forEach(function (d) { if (d.asset_tag === tag) found = { snap: snap, device: d }; });
      });
      return found;
    });
  };
  // The students matching `q` (a name without diacritics, or a code) as _lend_students.html
  // lists them; names go in as text, never as HTML.
  var drawStudents = function (list, students, q) {
    q = fold((q || "").trim());
    list.textContent = "";
    students.filter(function (s) {
      return !q || fold(s.full_name).indexOf(q) >= 0 || fold(s.student_code).indexOf(q) >= 0;
    }).slice(0, 30).forEach(function (s) {
      var row = document.createElement("label");
      row.className = "pick-row" + (s.has_consent ? "" : " off");
      var radio = document.createElement("input");
      radio.type = "radio"; radio.name = "student_id"; radio.value = s.id; radio.required = true;
      radio.disabled = !s.has_consent;
      var who = document.createElement("span");
      who.textContent = s.full_name || s.student_code;
      var more = document.createElement("span");
      more.className = "muted";
      more.textContent = s.student_code + " · " + words.gradeWord + " " + s.grade +
        (s.has_consent ? "" : " · " + words.noConsentWord) + (s.has_device ? " · " + words.hasDeviceWord : "");
      row.appendChild(radio); row.appendChild(document.createTextNode(" "));
      row.appendChild(who); row.appendChild(document.createTextNode(" ")); row.appendChild(more);
      list.appendChild(row);
    });
  };

  // ---- the offline page (sw.js shows it for a page this phone has not kept): the lend or
  // return form of the address asked for, from the school's snapshot and the outbox -------
  var offlinePage = document.querySelector("[data-offline-page]");
  var asked = /^\/devices\/([^/]+)\/(lend|return)$/.exec(window.location.pathname);
  if (offlinePage && asked && meta) {
    var otag = decodeURIComponent(asked[1]), mode = asked[2];
    var od = offlinePage.dataset;
    snapshotOf(otag).then(function (found) {
      var snap = found && found.snap, device = found && found.device;
      var none = offlinePage.querySelector("[data-offline-none]");
      if (!device) { none.textContent = od.unknownWord; return; }
      none.hidden = true;
      var section = offlinePage.querySelector("[data-offline-" + mode + "]");
      var oform = section.querySelector("form");
      section.hidden = false;
      section.querySelectorAll("[data-offline-tag]").forEach(function (el) { el.textContent = otag; });
      oform.setAttribute("action", "/devices/" + encodeURIComponent(otag) + "/" + mode);
      oform.dataset.tag = otag;
      var byId = {};
      snap.students.forEach(function (s) { byId[s.id] = s; });
      var condition = oform.querySelector("input[name=condition][value='" + device.condition + "']");
      if (condition) condition.checked = true;
      if (mode === "lend") {
        var list = section.querySelector("[data-offline-students]");
        var filter = section.querySelector("[data-offline-filter]");
        var draw = function () { drawStudents(list, snap.students, filter.value); };
        filter.addEventListener("input", draw);
        draw();
        return;
      }
      // Taking back: the holder is the one of a loan made offline, else the snapshot's.
      everything().then(function (actions) {
        var holder = device.student_id;
        mine(actions, "waiting").forEach(function (a) {
          if (a.tag === otag && a.kind === "lend") holder = Number(a.student_id);
          if (a.tag === otag && a.kind === "return") holder = null;
        });
        var said = section.querySelector("[data-offline-holder]");
        if (!holder) { said.textContent = od.notLentWord; oform.hidden = true; return; }
        var student = byId[holder] || {};
        var name = student.full_name || student.student_code || "";
        said.textContent = od.holderWord + " " + name;
        oform.querySelector("input[name=student_id]").value = holder;
        oform.dataset.holder = name;
      });
    });
  }

  // ---- lending: the student list follows what is typed (the form still works alone) ---
  var lendSearch = document.querySelector("[data-lend-search]");
  var lendResults = document.querySelector("[data-lend-results]");
  if (lendSearch && lendResults) {
    var lendInput = lendSearch.querySelector("input[name=q]");
    var lendTimer = null, lendAsked = lendInput.value.trim(), lendSeq = 0;
    var lendTag = (document.querySelector("form[data-outbox=lend]") || { dataset: {} }).dataset.tag;
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
        .catch(function () {
          // Offline: the students kept on the phone (the Search button still submits).
          snapshotOf(lendTag).then(function (found) {
            if (found && seq === lendSeq) drawStudents(lendResults, found.snap.students, q);
          });
        });
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
