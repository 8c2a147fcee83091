//go:build js && wasm

// Package jsutil holds the two JavaScript bridges the page and the worker
// both need: waiting for a promise from a goroutine, and copying an
// ArrayBuffer into Go bytes.
package jsutil

import (
	"errors"
	"syscall/js"
)

// Await waits for a promise from a goroutine (never from a callback, which
// would deadlock the event loop) and returns its value or its rejection.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	p.Call("then", then, catch)
	r := <-ch
	then.Release()
	catch.Release()
	return r.v, r.err
}

// Bytes copies an ArrayBuffer into a new byte slice.
func Bytes(buf js.Value) []byte {
	u8 := js.Global().Get("Uint8Array").New(buf)
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return b
}
