// sw.js: the offline cache. build.sh fills in the version and the file list,
// so that a new build replaces the old cache.
'use strict';
const CACHE = 'art-demo-@VERSION@';
const FILES = [@FILES@];

// The checkpoints weights/index.json lists are cached too, one by one (a
// missing one must not stop the rest): a host may add checkpoints to a built
// site without rebuilding it, and the page's worker may fetch them before this
// worker controls it.
function cacheListedCheckpoints(c) {
  return fetch('weights/index.json')
    .then((r) => (r.ok ? r.json() : { checkpoints: [] }))
    .then((idx) => Promise.all((idx.checkpoints || [])
      .filter((n) => typeof n === 'string' && /^[A-Za-z0-9._-]+$/.test(n))
      .map((n) => c.add('weights/' + n).catch(() => undefined))))
    .catch(() => undefined);
}

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(FILES).then(() => cacheListedCheckpoints(c)))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('art-demo-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Cache first, then the network; what the network gives is kept too.
self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) {
    return;
  }
  e.respondWith(caches.match(req, { ignoreSearch: true }).then((hit) => hit || fetch(req).then((resp) => {
    if (resp.ok) {
      const copy = resp.clone();
      caches.open(CACHE).then((c) => c.put(req, copy));
    }
    return resp;
  })));
});
