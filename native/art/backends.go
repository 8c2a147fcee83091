//go:build linux && (amd64 || arm64) && !noxla

package main

// The XLA backend is compiled in so that GOMLX_BACKEND=xla:cuda (or xla:cpu)
// works for users who have the PJRT plugin installed; it is loaded only when
// selected, and the pure-Go backend stays the default. Build with -tags noxla
// to leave it out.
import _ "github.com/gomlx/go-xla/compute/xla"
