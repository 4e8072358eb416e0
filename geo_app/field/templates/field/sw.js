// Revincula service worker, version {{ version }} (rendered by /sw.js; hand-written, see
// geo_app/field/__init__.py for why not Workbox).
//
// - static files: kept by version (cache-first); a new version drops the old static cache only;
// - Mi día: network first (6 s), a copy of the gestor's own days kept in "revincula-personal"
//   (only responses the server marks with X-Revincula-Dia), expiring after X-Revincula-Expira-Dias
//   days, cleared by the page on logout;
// - the comuna polygons: stale-while-revalidate;
// - other pages with no connection: the «sin conexión» page.
// The visit queue lives in IndexedDB (static/js/field-app.js) and is never touched here.
"use strict";
const VERSION = "{{ version }}";
const STATIC_CACHE = "revincula-static-" + VERSION;
const PERSONAL_CACHE = "revincula-personal";
const DATA_CACHE = "revincula-datos";
const ASSETS = {{ assets|tojson }};
const OFFLINE_URL = "/sin-conexion";
const NETWORK_TIMEOUT_MS = 6000;
const DAY_MS = 86400000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then(function (cache) { return cache.addAll(ASSETS.concat([OFFLINE_URL])); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return k.indexOf("revincula-static-") === 0 && k !== STATIC_CACHE;
      }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname === "/terreno") {
    event.respondWith(dayPage(request, url));
  } else if (url.pathname === "/api/capas/comunas.geojson") {
    event.respondWith(staleWhileRevalidate(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(offlinePage));
  }
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    const timer = setTimeout(function () { reject(new Error("tiempo agotado")); }, ms);
    promise.then(function (r) { clearTimeout(timer); resolve(r); },
                 function (e) { clearTimeout(timer); reject(e); });
  });
}

function offlinePage() {
  return caches.match(OFFLINE_URL, { cacheName: STATIC_CACHE }).then(function (hit) {
    return hit || new Response("Sin conexión.", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
}

function cacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

function staleWhileRevalidate(request) {
  return caches.open(DATA_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      const fresh = fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
      return hit ? (fresh.catch(function () { return hit; }), hit) : fresh;
    });
  });
}

function localDate(date) {
  const pad = function (n) { return String(n).padStart(2, "0"); };
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
}

// One key per day whatever the other parameters: the gestor's own days only ever land here.
function dayKey(url, day) {
  return url.origin + "/terreno" + (day ? "?dia=" + day : "");
}

function expired(response) {
  const saved = Number(response.headers.get("X-Revincula-Guardado") || 0);
  const days = Number(response.headers.get("X-Revincula-Expira-Dias") || 8);
  return !saved || Date.now() - saved > days * DAY_MS;
}

function stamped(response) {
  const headers = new Headers(response.headers);
  headers.set("X-Revincula-Guardado", String(Date.now()));
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

async function keep(url, response) {
  const cache = await caches.open(PERSONAL_CACHE);
  const shown = response.headers.get("X-Revincula-Dia");
  await cache.put(dayKey(url, shown), await stamped(response.clone()));
  if (!url.searchParams.get("dia")) {
    await cache.put(dayKey(url, ""), await stamped(response.clone()));
  }
}

async function fromPersonal(url) {
  const cache = await caches.open(PERSONAL_CACHE);
  const day = url.searchParams.get("dia");
  const keys = day ? [dayKey(url, day)] : [dayKey(url, localDate(new Date())), dayKey(url, "")];
  for (const key of keys) {
    const hit = await cache.match(key, { ignoreVary: true });
    if (!hit) { continue; }
    if (expired(hit)) { await cache.delete(key); continue; }
    return hit;
  }
  return null;
}

async function dayPage(request, url) {
  let response = null;
  try {
    response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
  } catch (err) {
    response = null;
  }
  if (response && response.ok && response.headers.get("X-Revincula-Dia")) {
    await keep(url, response);
    return response;
  }
  // Our own answer that is not to be kept (staff, a day with no stops), or a redirect to the
  // login page (the session expired: the queue waits in IndexedDB).
  if (response && (response.headers.get("X-Revincula-Pagina") || response.type === "opaqueredirect")) {
    return response;
  }
  // No network, a timeout, a server error or someone else's page (a captive portal).
  const cached = await fromPersonal(url);
  return cached || response || offlinePage();
}
