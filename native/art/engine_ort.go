//go:build cgo && (linux || darwin)

package main

import onnxbackend "github.com/gomlx/compute-onnx"

// ortLinked: GoMLX's ONNX Runtime backend is compiled in (it needs cgo).
const ortLinked = true

// disableORTDownload stops the backend from fetching a library from the
// internet: art only uses the one it found or was given.
func disableORTDownload() { onnxbackend.EnableAutoInstall(false) }
