// Command worker is the demonstrator's compute engine: GoMLX with the
// project's models, attribution maps and attribution attack, compiled to
// WebAssembly and run in a Web Worker (web/worker.js starts it), so that the
// page stays responsive while it computes. It speaks package protocol with
// the user interface (wasm/app).
//
// Build: GOOS=js GOARCH=wasm go build -o dist/engine.wasm ./wasm/worker
// (./build.sh web does it). Natively it only says so.
package main
