//go:build !(cgo && (linux || darwin))

package main

// ortLinked: without cgo, GoMLX's ONNX Runtime backend is not compiled in.
const ortLinked = false

func disableORTDownload() {}
