//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/artrobust/art/shared/nanjson"
	"github.com/artrobust/art/wasm/engine"
	"github.com/artrobust/art/wasm/jsutil"
	"github.com/artrobust/art/wasm/protocol"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute-onnx" // ONNX Runtime Web, the fast engine

	_ "github.com/gomlx/compute/gobackend"
)

// worker serves requests one at a time, in arrival order; only OpStop is
// handled as it arrives, so that it can stop the running request.
type worker struct {
	eng      *engine.Engine
	engineID string
	onnx     bool // the engine runs on ONNX Runtime Web (else the Go backend)
	auto     bool // the engine was not requested: fall back from ONNX to Go
	ckpts    []checkpointFile
	queue    chan protocol.Request

	mu      sync.Mutex
	running int
	cancel  context.CancelFunc
}

func main() {
	w := &worker{queue: make(chan protocol.Request, 64)}
	handler := js.FuncOf(func(this js.Value, args []js.Value) any {
		// A JavaScript callback must not block: decode and queue.
		var req protocol.Request
		if len(args) == 0 || args[0].Type() != js.TypeString {
			post(protocol.Response{Kind: protocol.KindError, Error: "engine: message is not a JSON string"})
			return nil
		}
		if err := json.Unmarshal([]byte(args[0].String()), &req); err != nil {
			post(protocol.Response{Kind: protocol.KindError, Error: "engine: " + err.Error()})
			return nil
		}
		if req.Op == protocol.OpStop {
			w.stop(req.Target)
			return nil
		}
		select {
		case w.queue <- req:
		default:
			post(protocol.Response{ID: req.ID, Kind: protocol.KindError, Error: "engine: too many requests waiting"})
		}
		return nil
	})
	js.Global().Call("artEngineReady", handler)
	for req := range w.queue {
		w.serve(req)
	}
}

// checkpointFile is a checkpoint the site lists, kept to rebuild the
// models on another backend.
type checkpointFile struct {
	name string
	data []byte
}

// post sends a response to the page; a number in it that is not finite
// (a metric of a card) is sent as null rather than losing the response.
func post(r protocol.Response) {
	b, err := nanjson.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(protocol.Response{ID: r.ID, Kind: protocol.KindError, Error: "engine: " + err.Error()})
	}
	js.Global().Call("postMessage", string(b))
}

// yield lets the worker's event loop run (and deliver OpStop) between steps.
func yield() { time.Sleep(time.Millisecond) }

func (w *worker) stop(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == id && w.cancel != nil {
		w.cancel()
	}
}

func (w *worker) serve(req protocol.Request) {
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.running, w.cancel = req.ID, cancel
	w.mu.Unlock()
	defer func() {
		cancel()
		w.mu.Lock()
		w.running, w.cancel = 0, nil
		w.mu.Unlock()
	}()
	start := time.Now()
	resp, err := w.handle(ctx, req)
	if err != nil && w.onnx && w.auto && req.Op != protocol.OpInit && ctx.Err() == nil {
		// ONNX Runtime cannot run some graph: switch to the Go backend for
		// good and retry (an attack restarts from step 0).
		msg := err.Error()
		if len(msg) > 200 {
			msg = "…" + msg[len(msg)-200:] // the cause is at the end
		}
		note := "ONNX Runtime failed (" + msg + "); switched to the Go backend"
		post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: note})
		if err = w.setBackend("go"); err == nil {
			resp, err = w.handle(ctx, req)
		}
	}
	if err != nil {
		post(protocol.Response{ID: req.ID, Kind: protocol.KindError, Error: err.Error()})
		return
	}
	resp.ID = req.ID
	resp.Engine = w.engineID
	resp.Millis = float64(time.Since(start).Microseconds()) / 1000
	post(resp)
}

func (w *worker) handle(ctx context.Context, req protocol.Request) (r protocol.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("engine: %v", p)
		}
	}()
	if req.Op == protocol.OpInit {
		return w.init(req)
	}
	if w.eng == nil {
		return r, errors.New("engine: not initialised")
	}
	switch req.Op {
	case protocol.OpPredict:
		m, err := w.eng.Model(req.Model)
		if err != nil {
			return r, err
		}
		p, err := m.Predict(req.Image)
		return protocol.Response{Kind: protocol.KindResult, Probs: p}, err
	case protocol.OpAttribute:
		if req.Method == nil {
			return r, errors.New("attribute: no method")
		}
		m, err := w.eng.Model(req.Model)
		if err != nil {
			return r, err
		}
		mp, err := m.Attribute(req.Image, req.Target, *req.Method)
		return protocol.Response{Kind: protocol.KindResult, Map: mp}, err
	case protocol.OpAttack:
		if req.Attack == nil {
			return r, errors.New("attack: no settings")
		}
		sum, err := w.eng.Attack(ctx, req.Models, req.Image, *req.Attack, func(s protocol.Step) {
			post(protocol.Response{ID: req.ID, Kind: protocol.KindStep, Step: &s})
			yield()
		})
		return protocol.Response{Kind: protocol.KindResult, Summary: sum}, err
	}
	return r, fmt.Errorf("engine: unknown operation %q", req.Op)
}

// init fetches the checkpoints the site lists in weights/index.json (two
// untrained models when it lists none) and builds the models on the
// requested backend: "go", "onnx", or "" for ONNX Runtime Web when the site
// ships it and the Go backend otherwise.
func (w *worker) init(req protocol.Request) (protocol.Response, error) {
	if w.eng == nil {
		names, err := checkpointNames()
		if err != nil {
			post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: "no checkpoints: " + err.Error()})
		}
		for _, name := range names {
			post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: "loading " + name})
			b, err := fetchBytes("weights/" + name)
			if err == nil {
				// Parse now, so that a broken file is reported once.
				err = engine.CheckCheckpoint(b)
			}
			if err != nil {
				// One broken file must not hide the others.
				post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: "skipped " + name + ": " + err.Error()})
				continue
			}
			w.ckpts = append(w.ckpts, checkpointFile{name, b})
		}
		w.auto = req.Backend == ""
		switch req.Backend {
		case "", "onnx":
			post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: "starting ONNX Runtime Web"})
			err = w.setBackend("onnx")
			if err != nil && req.Backend == "" {
				post(protocol.Response{ID: req.ID, Kind: protocol.KindProgress, Progress: "skipped ONNX Runtime Web: " + err.Error()})
				err = w.setBackend("go")
			}
		default:
			err = w.setBackend(req.Backend)
		}
		if err != nil {
			return protocol.Response{}, err
		}
	}
	return protocol.Response{Kind: protocol.KindReady, Models: w.eng.Cards()}, nil
}

// setBackend (re)builds the engine and its models on a backend.
func (w *worker) setBackend(name string) error {
	var config string
	switch name {
	case "go":
		config = "go"
	case "onnx":
		if _, err := jsutil.Await(js.Global().Call("artLoadORT")); err != nil {
			return fmt.Errorf("loading onnxruntime-web: %w", err)
		}
		config = "onnx:wasm"
	default:
		return fmt.Errorf("unknown engine %q (want go or onnx)", name)
	}
	b, err := compute.NewWithConfig(config)
	if err != nil {
		return fmt.Errorf("backend %q: %w", config, err)
	}
	eng := engine.New(b)
	for _, ck := range w.ckpts {
		if _, err := eng.LoadCheckpoint(ck.name, ck.data); err != nil {
			return err
		}
	}
	if len(w.ckpts) == 0 {
		for _, seed := range []uint64{1, 2} {
			if _, err := eng.AddUntrained("WRN-10-1", seed); err != nil {
				return err
			}
		}
	}
	w.eng, w.onnx = eng, name == "onnx"
	if w.onnx {
		v := js.Global().Get("ort").Get("env").Get("versions").Get("web")
		w.engineID = "ONNX Runtime Web " + v.String() + " through GoMLX (WebAssembly SIMD, 1 thread)"
	} else {
		w.engineID = "GoMLX Go backend (WebAssembly, 1 thread)"
	}
	return nil
}

// checkpointNames reads weights/index.json: {"checkpoints": ["a.ckpt", ...]}.
func checkpointNames() ([]string, error) {
	b, err := fetchBytes("weights/index.json")
	if err != nil {
		return nil, err
	}
	var idx struct {
		Checkpoints []string `json:"checkpoints"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("weights/index.json: %w", err)
	}
	return idx.Checkpoints, nil
}

// fetchBytes fetches a URL relative to the worker's script.
func fetchBytes(url string) ([]byte, error) {
	resp, err := jsutil.Await(js.Global().Call("fetch", url))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if !resp.Get("ok").Bool() {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.Get("status").Int())
	}
	buf, err := jsutil.Await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return jsutil.Bytes(buf), nil
}
