//go:build js && wasm

package main

import (
	"encoding/json"
	"sync"

	"github.com/artrobust/art/wasm/jsutil"
	"github.com/artrobust/art/wasm/protocol"
	"syscall/js"

	vjs "github.com/vugu/vugu/js"
)

// client talks to the engine in a Web Worker. Responses are delivered in
// arrival order, on each request's channel, which is closed after the final
// response (ready, result or error).
type client struct {
	worker js.Value
	onMsg  js.Func

	mu      sync.Mutex
	nextID  int
	pending map[int]chan protocol.Response
	inbox   []protocol.Response
	wake    chan struct{}
	// lost receives responses nobody waits for (e.g. start-up errors).
	lost func(protocol.Response)
}

// newClient starts the worker script at url.
func newClient(url string, lost func(protocol.Response)) *client {
	c := &client{pending: make(map[int]chan protocol.Response), wake: make(chan struct{}, 1), lost: lost}
	c.worker = js.Global().Get("Worker").New(url)
	c.onMsg = js.FuncOf(func(this js.Value, args []js.Value) any {
		// Callbacks must not block: queue and wake the dispatcher.
		var r protocol.Response
		if err := json.Unmarshal([]byte(args[0].Get("data").String()), &r); err != nil {
			r = protocol.Response{Kind: protocol.KindError, Error: "bad message from the engine: " + err.Error()}
		}
		c.mu.Lock()
		c.inbox = append(c.inbox, r)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return nil
	})
	c.worker.Set("onmessage", c.onMsg)
	c.worker.Set("onerror", js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "the engine's worker failed"
		if len(args) > 0 && args[0].Get("message").Truthy() {
			msg += ": " + args[0].Get("message").String()
		}
		b, _ := json.Marshal(protocol.Response{Kind: protocol.KindError, Error: msg})
		c.onMsg.Invoke(js.ValueOf(map[string]any{"data": string(b)}))
		return nil
	}))
	go c.dispatch()
	return c
}

func (c *client) dispatch() {
	for range c.wake {
		c.mu.Lock()
		batch := c.inbox
		c.inbox = nil
		c.mu.Unlock()
		for _, r := range batch {
			c.mu.Lock()
			ch, ok := c.pending[r.ID]
			final := r.Kind == protocol.KindReady || r.Kind == protocol.KindResult || r.Kind == protocol.KindError
			if ok && final {
				delete(c.pending, r.ID)
			}
			c.mu.Unlock()
			if !ok {
				if c.lost != nil {
					c.lost(r)
				}
				continue
			}
			ch <- r
			if final {
				close(ch)
			}
		}
	}
}

// send posts req with a fresh ID and returns that ID and the channel of
// its responses.
func (c *client) send(req protocol.Request) (int, <-chan protocol.Response) {
	c.mu.Lock()
	c.nextID++
	req.ID = c.nextID
	ch := make(chan protocol.Response, 16)
	c.pending[req.ID] = ch
	c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		ch <- protocol.Response{ID: req.ID, Kind: protocol.KindError, Error: err.Error()}
		close(ch)
		return req.ID, ch
	}
	c.worker.Call("postMessage", string(b))
	return req.ID, ch
}

// call sends req and waits for its final response, passing the others
// (progress, steps) to each.
func (c *client) call(req protocol.Request, each func(protocol.Response)) protocol.Response {
	_, ch := c.send(req)
	var last protocol.Response
	for r := range ch {
		last = r
		if r.Kind == protocol.KindProgress || r.Kind == protocol.KindStep {
			if each != nil {
				each(r)
			}
		}
	}
	return last
}

// stop asks the engine to stop request id after its current step.
func (c *client) stop(id int) {
	b, _ := json.Marshal(protocol.Request{Op: protocol.OpStop, Target: id})
	c.worker.Call("postMessage", string(b))
}

// readFile reads a File object of a file input (from a goroutine).
func readFile(f vjs.Value) ([]byte, error) {
	buf, err := jsutil.Await(js.Value(f).Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	return jsutil.Bytes(buf), nil
}
