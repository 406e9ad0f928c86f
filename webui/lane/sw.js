// App-shell service worker: the lane's own files, network first (a LAN box answers in
// milliseconds and a fresh deploy must win), the cached copy when the edge is unreachable.
// The API is never touched here: sales, catalog and the offline queue are the app's business.

const CACHE = "novapos-lane-shell-v10";
const SHELL = ["/", "/index.html", "/app.css", "/app.js", "/api.js", "/catalog.js", "/crypto_checkout.js", "/db.js", "/events.js",
               "/offline_auth.js", "/pickup.js", "/queue.js", "/terminal_prompts.js", "/vlist.js", "/manifest.webmanifest", "/icon.svg",
               "/pairing.js", "/kiosk.js", "/returns.js", "/stock.js", "/cart_edit.js", "/lane_tools.css",
               "/customer.js", "/customer.css",
               "/common/api.js", "/common/dom.js", "/common/money.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/admin")) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((hit) => hit || caches.match("/index.html"))),
  );
});
