// Command app is the demonstrator's user interface: a Vugu page, compiled to
// WebAssembly, that shows models, images, attribution maps and the
// attribution attack. The compute runs in a Web Worker (wasm/worker); this
// side only renders. root.vugu is the page; root_gen.go is generated from it
// by vugugen (./build.sh web regenerates it; do not edit it by hand).
//
// Build: GOOS=js GOARCH=wasm go build -o dist/app.wasm ./wasm/app
// (./build.sh web does it). Natively it only says so.
package main
