// worker.js: runs the compute engine (engine.wasm, GoMLX) in a Web Worker so
// that the page stays responsive. Messages are JSON strings (package
// wasm/protocol); those that arrive before the engine is up wait in a queue.
'use strict';
importScripts('wasm_exec.js', 'loader.js');

let queue = [];
self.onmessage = (e) => queue.push(e.data);

// Called by the engine once it listens.
self.artEngineReady = (handler) => {
  self.onmessage = (e) => handler(e.data);
  for (const m of queue) handler(m);
  queue = null;
};

// Loads onnxruntime-web from this site (never a CDN) before the engine asks
// for the ONNX backend, handing it its WebAssembly binary from the gzipped
// copy; one thread needs no cross-origin isolation.
self.artLoadORT = async () => {
  importScripts('ort/ort.wasm.min.js');
  const env = self.ort.env;
  env.wasm.wasmPaths = new URL('ort/', self.location.href).href;
  env.wasm.wasmBinary = await artFetchWasm('ort/ort-wasm-simd-threaded');
  env.wasm.numThreads = 1;
  env.logLevel = 'error';
  return env.versions.web;
};

(async () => {
  const go = new Go();
  const bytes = await artFetchWasm('engine');
  const { instance } = await WebAssembly.instantiate(bytes, go.importObject);
  await go.run(instance);
  self.postMessage(JSON.stringify({ id: 0, kind: 'error', error: 'the engine exited' }));
})().catch((e) => self.postMessage(JSON.stringify({ id: 0, kind: 'error', error: 'the engine did not start: ' + e })));
