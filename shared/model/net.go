package model

import (
	"fmt"
	"sync"
	"weak"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Net is a model instance: its configuration, its variables in a GoMLX
// store, the backend that runs it, and a cache of compiled executables so
// that no graph is rebuilt per call.
type Net struct {
	Config  Config
	Backend compute.Backend
	Store   *gmodel.Store
	// Conv is the convolution formulation used by every graph this Net builds.
	Conv ConvImpl

	mu     sync.Mutex
	execs  map[string]*gmodel.Exec
	graphs map[weak.Pointer[graph.Graph]]bool // graphs Call ran, to count compilations without keeping them alive
}

// NewNet creates a model with the given variable values (keyed by
// VarSpec.Path, as returned by Config.InitValues or read from a checkpoint).
func NewNet(backend compute.Backend, cfg Config, values map[string][]float32) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store := gmodel.NewStore()
	if err := cfg.SetValues(store, values); err != nil {
		return nil, err
	}
	return &Net{Config: cfg, Backend: backend, Store: store, execs: make(map[string]*gmodel.Exec)}, nil
}

// Scope is the root scope of the model's variables.
func (n *Net) Scope() *gmodel.Scope { return n.Store.RootScope() }

// Logits builds the network's forward pass in a graph, with this Net's
// convolution formulation.
func (n *Net) Logits(x *graph.Node, p Pass) *graph.Node {
	p.Conv = n.Conv
	return n.Config.Logits(n.Scope(), x, p)
}

// Forward is Logits that also returns the last feature maps (see
// Config.Forward).
func (n *Net) Forward(x *graph.Node, p Pass) (features, logits *graph.Node) {
	p.Conv = n.Conv
	return n.Config.Forward(n.Scope(), x, p)
}

// Exec returns the executable cached under key, creating it with build on
// first use (typically gomlx/ml/model.NewExec(n.Backend, n.Store, fn)).
// The key must identify everything the graph function closes over.
// GoMLX itself caches one compiled graph per input shape inside each Exec.
func (n *Net) Exec(key string, build func() (*gmodel.Exec, error)) (*gmodel.Exec, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.execs[key]; ok {
		return e, nil
	}
	e, err := build()
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", key, err)
	}
	e.SetMaxCache(16)
	n.execs[key] = e
	return e, nil
}

// Call runs the executable cached under key and returns its outputs.
// GoMLX panics during graph construction or execution are returned as
// errors.
func (n *Net) Call(key string, build func() (*gmodel.Exec, error), args ...any) (out []*tensors.Tensor, err error) {
	e, err := n.Exec(key, build)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", key, r)
		}
	}()
	out, g, err := e.CallWithGraph(args...)
	if err == nil {
		n.mu.Lock()
		if n.graphs == nil {
			n.graphs = make(map[weak.Pointer[graph.Graph]]bool)
		}
		n.graphs[weak.Make(g)] = true
		n.mu.Unlock()
	}
	return out, err
}

// Compiled returns how many distinct graphs the executables run by Call
// have built and compiled so far: one per executable and input shape when
// the cache works, however many calls were made.
func (n *Net) Compiled() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.graphs)
}

// Values returns a copy of the current variable values, keyed by path.
func (n *Net) Values() (map[string][]float32, error) { return n.Config.Values(n.Store) }

// Batch wraps a host NHWC batch as a tensor, checking its size.
func (n *Net) Batch(x []float32) (*tensors.Tensor, error) {
	c := n.Config
	per := c.InputSize * c.InputSize * c.Channels
	if per == 0 || len(x) == 0 || len(x)%per != 0 {
		return nil, fmt.Errorf("%s: input of %d values is not a batch of %dx%dx%d images", c.Name(), len(x), c.InputSize, c.InputSize, c.Channels)
	}
	return tensors.FromFlatDataAndDimensions(x, len(x)/per, c.InputSize, c.InputSize, c.Channels), nil
}

// Predict returns the logits [N*NumClasses] of an NHWC batch in [0,1], in
// evaluation mode (running batch-norm statistics) with the given activation.
func (n *Net) Predict(x []float32, act Activation) ([]float32, error) {
	xt, err := n.Batch(x)
	if err != nil {
		return nil, err
	}
	key := "logits/" + act.String()
	out, err := n.Call(key, func() (*gmodel.Exec, error) {
		return gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
			return n.Logits(x, Pass{Act: act})
		})
	}, xt)
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float32](out[0])
}

// Argmax returns the index of the largest of each row of n values.
func Argmax(logits []float32, n int) []int {
	out := make([]int, len(logits)/n)
	for i := range out {
		row := logits[i*n : (i+1)*n]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}
