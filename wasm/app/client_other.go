//go:build !(js && wasm)

package main

import (
	"errors"

	"github.com/artrobust/art/wasm/protocol"
	vjs "github.com/vugu/vugu/js"
)

// Outside a browser there is no worker: the page renders (e.g. in Vugu's
// static renderer) but every request fails.

var errNoBrowser = errors.New("no browser: the engine runs in a Web Worker")

type client struct{}

func newClient(url string, lost func(protocol.Response)) *client { return &client{} }

func (c *client) send(req protocol.Request) (int, <-chan protocol.Response) {
	ch := make(chan protocol.Response, 1)
	ch <- protocol.Response{Kind: protocol.KindError, Error: errNoBrowser.Error()}
	close(ch)
	return 0, ch
}

func (c *client) call(req protocol.Request, each func(protocol.Response)) protocol.Response {
	_, ch := c.send(req)
	return <-ch
}

func (c *client) stop(id int) {}

func readFile(f vjs.Value) ([]byte, error) { return nil, errNoBrowser }
