// devicetrack's service worker (served at /sw.js by web/assets.py, which writes in the
// app shell's fingerprinted URLs). The shell comes from the cache; the pages a user opens
// and a school's snapshot come from the network first and, offline, from the cache; a page
// never kept is answered with /offline, whose script draws the lend or return form from
// the snapshot. Writes are never touched here: app.js's outbox sends them. app.js also
// fills the pages cache ahead of need (/offline, the snapshots) and deletes it when
// another user signs in; signing out deletes everything (Clear-Site-Data).
"use strict";
var VERSION = "__VERSION__";
var SHELL = __SHELL__;
var SHELL_CACHE = "dt-shell-" + VERSION;
var PAGES = "dt-pages";  // pages with students' names: deleted on sign-out (app.js, Clear-Site-Data)
// A kept page is shown no longer than the session that fetched it lasts (the sign-in's
// lifetime, DEVICETRACK_TOKEN_TTL_HOURS): a phone left signed in shows no names for ever.
var MAX_AGE_MS = __MAX_AGE_HOURS__ * 3600 * 1000;
// Never kept: sign-in and account pages, the API, and what changes with every request.
var NEVER = /^\/(login|logout|lang|password-reset|invitations|api\/|admin|account|scan|sw\.js|manifest)/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("dt-shell-") === 0 && k !== SHELL_CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// A page's address as kept: without the one-time confirmation (?done=…&n=…).
function keyOf(url) {
  var u = new URL(url);
  u.searchParams.delete("done");
  u.searchParams.delete("n");
  return u.origin + u.pathname + (u.searchParams.toString() ? "?" + u.searchParams : "");
}

function keep(request, response) {
  if (!response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  var headers = new Headers(response.headers);
  headers.set("x-dt-kept-at", String(Date.now()));
  return response.clone().blob().then(function (body) {
    var copy = new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
    return caches.open(PAGES).then(function (cache) { return cache.put(keyOf(request.url), copy); });
  });
}

// A kept page, unless it outlived the session that fetched it (then it is deleted).
function kept(url) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(url).then(function (hit) {
      if (!hit) return null;
      var at = Number(hit.headers.get("x-dt-kept-at") || 0);
      if (Date.now() - at <= MAX_AGE_MS) return hit;
      return cache.delete(url).then(function () { return null; });
    });
  });
}

function networkFirst(request, navigate) {
  return fetch(request).then(function (response) {
    keep(request, response);
    return response;
  }).catch(function () {
    return kept(keyOf(request.url)).then(function (hit) {
      if (hit) return hit;
      if (!navigate) return Response.error();
      return kept(self.location.origin + "/offline").then(function (page) {
        return page || Response.error();
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/favicon.ico") {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (NEVER.test(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, true));
  } else if (/^\/schools\/\d+\/offline\.json$/.test(url.pathname)) {
    event.respondWith(networkFirst(request, false));
  }
});
