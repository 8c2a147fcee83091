// Package engine is the demonstrator's compute side: it loads models from
// checkpoint bytes (or initialises untrained ones), and answers the
// requests of package protocol with the project's shared model,
// attribution and metric code. It runs natively in tests and in a Web
// Worker in the browser (wasm/worker).
package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/wasm/protocol"
	"github.com/gomlx/compute"
)

// Model is a loaded network with its card.
type Model struct {
	Card protocol.Card
	Net  *model.Net
}

// Engine holds the backend and the loaded models.
type Engine struct {
	Backend compute.Backend
	models  []*Model
}

// New creates an engine on a backend.
func New(backend compute.Backend) *Engine { return &Engine{Backend: backend} }

// Models returns the loaded models in load order.
func (e *Engine) Models() []*Model { return slices.Clone(e.models) }

// Cards returns the cards of the loaded models.
func (e *Engine) Cards() []protocol.Card {
	cards := make([]protocol.Card, len(e.models))
	for i, m := range e.models {
		cards[i] = m.Card
	}
	return cards
}

// Model returns the model with the given ID.
func (e *Engine) Model(id string) (*Model, error) {
	for _, m := range e.models {
		if m.Card.ID == id {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no model %q loaded", id)
}

func (e *Engine) add(m *Model) error {
	if _, err := e.Model(m.Card.ID); err == nil {
		return fmt.Errorf("model %q is loaded twice", m.Card.ID)
	}
	e.models = append(e.models, m)
	return nil
}

// LoadCheckpoint loads a checkpoint's bytes as model id.
func (e *Engine) LoadCheckpoint(id string, b []byte) (*Model, error) {
	ck, err := checkpoint.ReadBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	net, err := model.LoadNet(e.Backend, ck)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	m := &Model{Net: net, Card: cardFromMeta(id, ck.Meta, net.Config)}
	m.Card.Bytes = len(b)
	return m, e.add(m)
}

// CheckCheckpoint reports whether b is a checkpoint of a model the engine
// can build, without building it.
func CheckCheckpoint(b []byte) error {
	ck, err := checkpoint.ReadBytes(b)
	if err != nil {
		return err
	}
	cfg, err := model.ConfigFromMeta(ck.Meta)
	if err != nil {
		return err
	}
	_, err = cfg.ValuesFromCheckpoint(ck)
	return err
}

// AddUntrained adds a freshly initialised WRN for the built-in shapes
// dataset (10 classes, 32x32 RGB), labelled as untrained.
func (e *Engine) AddUntrained(arch string, seed uint64) (*Model, error) {
	classes := data.ShapesClasses()
	cfg, err := model.ParseArch(arch, len(classes), data.DefaultShapesSize, 3)
	if err != nil {
		return nil, err
	}
	net, err := model.NewNet(e.Backend, cfg, cfg.InitValues(seed))
	if err != nil {
		return nil, err
	}
	m := &Model{Net: net, Card: protocol.Card{
		ID:        fmt.Sprintf("untrained-%d", seed),
		Title:     fmt.Sprintf("%s · untrained (seed %d)", cfg.Name(), seed),
		Untrained: true,
		Arch:      cfg.Name(),
		Params:    cfg.NumParams(),
		InputSize: cfg.InputSize,
		Channels:  cfg.Channels,
		Classes:   classes,
		Dataset:   "shapes",
		Notes:     "Freshly initialised weights, never trained: its predictions and maps are those of a random network.",
	}}
	return m, e.add(m)
}

func cardFromMeta(id string, meta checkpoint.Meta, cfg model.Config) protocol.Card {
	c := protocol.Card{
		ID:         id,
		Arch:       cfg.Name(),
		Params:     cfg.NumParams(),
		InputSize:  cfg.InputSize,
		Channels:   cfg.Channels,
		Classes:    meta.ClassNames,
		Method:     meta.Method,
		Dataset:    meta.Dataset,
		Activation: meta.Activation,
		Hyper:      meta.Hyper,
		Metrics:    meta.Metrics,
		Notes:      meta.Notes,
	}
	if !meta.Created.IsZero() {
		c.Created = meta.Created.UTC().Format(time.DateOnly)
	}
	if len(c.Classes) != cfg.NumClasses {
		c.Classes = make([]string, cfg.NumClasses)
		for i := range c.Classes {
			c.Classes[i] = fmt.Sprintf("class %d", i)
		}
	}
	parts := []string{c.Arch}
	for _, s := range []string{c.Method, c.Dataset} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	c.Title = strings.Join(parts, " · ")
	return c
}

// checkImage checks that img is one image of the model's input shape.
func (m *Model) checkImage(img []float32) error {
	c := m.Net.Config
	if want := c.InputSize * c.InputSize * c.Channels; len(img) != want {
		return fmt.Errorf("%s takes %dx%dx%d images, got %d values", m.Card.ID, c.InputSize, c.InputSize, c.Channels, len(img))
	}
	for _, v := range img {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("image values must lie in [0,1], got %g", v)
		}
	}
	return nil
}

// Predict returns the class probabilities of one image.
func (m *Model) Predict(img []float32) ([]float32, error) {
	if err := m.checkImage(img); err != nil {
		return nil, err
	}
	logits, err := m.Net.Predict(img, model.ReLU)
	if err != nil {
		return nil, err
	}
	return Softmax(logits), nil
}

// Softmax of one row of logits, computed in float64.
func Softmax(logits []float32) []float32 {
	top := slices.Max(logits)
	p := make([]float32, len(logits))
	var sum float64
	for _, z := range logits {
		sum += math.Exp(float64(z - top))
	}
	for i, z := range logits {
		p[i] = float32(math.Exp(float64(z-top)) / sum)
	}
	return p
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if cmp.Compare(v, p[best]) > 0 {
			best = i
		}
	}
	return best
}

// AttributionMethod turns a method description into an attribution method
// with the given activation.
func AttributionMethod(m protocol.Method, act model.Activation) (attribution.Method, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	switch m.Name {
	case protocol.Gradient:
		return attribution.Gradient{Act: act}, nil
	case protocol.IntegratedGradient:
		// Chunks of 32 path points keep memory modest in the browser.
		return attribution.IntegratedGradients{Steps: m.Steps, ChunkSize: 32, Act: act}, nil
	case protocol.SmoothGrad:
		return attribution.SmoothGrad{Samples: m.Samples, Sigma: m.Sigma, Seed: 1, ChunkSize: 32, Act: act}, nil
	case protocol.GradCAM:
		return attribution.GradCAM{Act: act}, nil
	}
	return nil, fmt.Errorf("unknown attribution method %q", m.Name)
}

// Attribute computes the raw map (laid out like img) of target with
// method; a negative target means the predicted class.
func (m *Model) Attribute(img []float32, target int, method protocol.Method) ([]float32, error) {
	if target < 0 {
		p, err := m.Predict(img)
		if err != nil {
			return nil, err
		}
		target = Argmax(p)
	}
	if err := m.checkImage(img); err != nil {
		return nil, err
	}
	am, err := AttributionMethod(method, model.ReLU)
	if err != nil {
		return nil, err
	}
	return attribution.Attribute(m.Net, am, img, []int{target})
}
