//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wasm/app runs in a browser: build the site with ./build.sh web and serve dist/")
	os.Exit(2)
}
