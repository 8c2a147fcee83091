//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wasm/worker runs in a browser's Web Worker: build it with GOOS=js GOARCH=wasm (./build.sh web)")
	os.Exit(2)
}
