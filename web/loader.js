// loader.js: fetches and starts the page's Go WebAssembly programs, both on
// the page (app.wasm, the interface) and in the worker (engine.wasm). On the
// page it starts the interface by itself: the site has no inline script, so
// a strict Content-Security-Policy needs no exception for it.
'use strict';

// artFetchWasm returns the bytes of NAME.wasm. It prefers NAME.wasm.gz and
// decompresses it here, so that any static host serves a small file; if that
// fails it fetches NAME.wasm. onProgress(received, total) reports the download.
async function artFetchWasm(name, onProgress) {
  if (typeof DecompressionStream === 'function') {
    try {
      const r = await fetch(name + '.wasm.gz');
      if (r.ok) {
        const body = artCount(r, onProgress).pipeThrough(new DecompressionStream('gzip'));
        return await new Response(body).arrayBuffer();
      }
    } catch (e) {
      // A host that already decoded the .gz, or none: use the plain file.
    }
  }
  const r = await fetch(name + '.wasm');
  if (!r.ok) {
    throw new Error(name + '.wasm: HTTP ' + r.status);
  }
  return await new Response(artCount(r, onProgress)).arrayBuffer();
}

// artCount passes a response's body through, counting its bytes.
function artCount(response, onProgress) {
  const total = Number(response.headers.get('Content-Length')) || 0;
  let received = 0;
  return response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      received += chunk.byteLength;
      if (onProgress) onProgress(received, total);
      controller.enqueue(chunk);
    },
  }));
}

// artBoot starts the interface on the page.
async function artBoot() {
  const status = document.getElementById('boot-status');
  const say = (s) => { if (status) status.textContent = s; };
  const fail = (s) => { say(s); document.body.dataset.bootFailed = s; };
  if (typeof WebAssembly !== 'object' || typeof Worker !== 'function') {
    fail('This browser lacks WebAssembly or Web Workers, which this page needs.');
    return;
  }
  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    // Caches the site so that it works offline once loaded.
    navigator.serviceWorker.register('sw.js').catch((e) => console.warn('offline cache unavailable:', e));
  }
  try {
    say('Loading the interface…');
    const bytes = await artFetchWasm('app', (got, total) => {
      say('Loading the interface: ' + (got / 1e6).toFixed(1) + (total ? ' of ' + (total / 1e6).toFixed(1) : '') + ' MB');
    });
    const go = new Go();
    const { instance } = await WebAssembly.instantiate(bytes, go.importObject);
    say('Starting…');
    await go.run(instance);
    fail('The interface stopped; the browser console says why.');
  } catch (e) {
    fail('The page failed to start: ' + e);
  }
}

// Vugu's renderer installs its JavaScript helper with window.eval, which a
// Content-Security-Policy without 'unsafe-eval' forbids. The page loads the
// same helper from vugu-render.js (see wasm/cmd/vugurender), so that eval
// would do nothing: skip it.
function artSkipVuguEval() {
  if (!window.vuguRender) return;
  const evalOriginal = window.eval;
  window.eval = function (src) {
    if (typeof src === 'string' && src.startsWith('(function(){if(window.vuguRender)return;')) return undefined;
    return evalOriginal(src);
  };
}

if (typeof document !== 'undefined') {
  artSkipVuguEval();
  artBoot();
}
