// Package checkpoint reads and writes the project's single-file checkpoint
// format: a model's named weight tensors together with JSON metadata saying
// how to use them (architecture, input normalisation, class names) and how
// they came about (dataset, training method, hyper-parameters, metrics,
// resume state).
//
// The same file loads natively from disk (ReadFile) and in the browser from
// fetched bytes (ReadBytes). Its layout is a fixed preamble, a JSON header,
// 64-byte-aligned little-endian tensor data and a CRC-32 trailer, so that it
// is also easy to read from Python with numpy; docs/checkpoint.md specifies
// it byte by byte.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Checkpoint is a set of named tensors and the metadata describing them.
// Tensors keep their order through a write and read; names must be unique.
type Checkpoint struct {
	Meta    Meta
	Tensors []*Tensor
}

// Tensor returns the tensor with the given name.
func (c *Checkpoint) Tensor(name string) (*Tensor, bool) {
	for _, t := range c.Tensors {
		if t != nil && t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// Meta is a checkpoint's metadata, stored as the "meta" object of the JSON
// header. Every field is optional to the format; readers ignore keys they do
// not know.
type Meta struct {
	// Arch is the network architecture the tensors belong to.
	Arch Arch `json:"arch,omitzero"`
	// Activation is the activation the network was trained with, e.g.
	// "relu" or "softplus" (its parameters, such as a softplus beta, go
	// in Hyper).
	Activation string `json:"activation,omitempty"`
	// Normalization is the per-channel input normalisation the network
	// applies to images in [0,1].
	Normalization Normalization `json:"normalization,omitzero"`
	// ClassNames names the output classes in logit order.
	ClassNames []string `json:"class_names,omitempty"`
	// Dataset names the training data, e.g. "cifar10" or "shapes".
	Dataset string `json:"dataset,omitempty"`
	// Method is the training method, e.g. "natural", "pgd" or "art".
	Method string `json:"method,omitempty"`
	// Hyper holds the training hyper-parameters by name (e.g. "epsilon",
	// "learning_rate", "batch_size"). Values are anything JSON encodes;
	// after a read they are JSON-decoded, so numbers are float64.
	Hyper map[string]any `json:"hyper,omitempty"`
	// Metrics holds evaluation results by name, e.g. "clean_accuracy" or
	// "top_k_intersection". JSON has no NaN or Inf: Write stores such a
	// value as null, which reads back as NaN.
	Metrics Metrics `json:"metrics,omitempty"`
	// Training is where training stood when the checkpoint was taken.
	Training Training `json:"training,omitzero"`
	// Created is when the checkpoint was written.
	Created time.Time `json:"created,omitzero"`
	// Notes is free-form text for people.
	Notes string `json:"notes,omitempty"`
}

// Metrics are numbers by name. A value that is not finite (an undefined
// metric, such as an accuracy over no images) is written as null and read
// back as NaN.
type Metrics map[string]float64

// UnmarshalJSON reads null values as NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	*m = make(Metrics, len(raw))
	for k, v := range raw {
		(*m)[k] = math.NaN()
		if v != nil {
			(*m)[k] = *v
		}
	}
	return nil
}

// Arch describes a network architecture. Name alone identifies it; the
// structured fields spare readers from parsing the name.
type Arch struct {
	// Name is the architecture's name, e.g. "WRN-10-1".
	Name string `json:"name,omitempty"`
	// Depth and Width are d and k of a WideResNet WRN-d-k.
	Depth int `json:"depth,omitempty"`
	Width int `json:"width,omitempty"`
	// NumClasses is the number of outputs.
	NumClasses int `json:"num_classes,omitempty"`
	// InputSize is the height and width of the square input images and
	// Channels their number of channels; images are NHWC.
	InputSize int `json:"input_size,omitempty"`
	Channels  int `json:"channels,omitempty"`
}

// Normalization maps an image x in [0,1] to (x - Mean[c]) / Std[c] per
// channel c.
type Normalization struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Training is the state needed to resume training, besides the tensors
// (optimizer slots and random number generator state are stored as tensors).
type Training struct {
	// Step is the number of optimizer steps taken.
	Step int64 `json:"step,omitempty"`
	// Epoch is the number of completed passes over the training data.
	Epoch int `json:"epoch,omitempty"`
	// Seed is the seed the run started from.
	Seed int64 `json:"seed,omitempty"`
}

// Check reports whether the checkpoint holds exactly the tensors in
// expected, a map from tensor name to shape. If not, it returns a
// *MismatchError listing the missing, unexpected and wrongly shaped tensors,
// which is how a model loader says that an architecture does not match a
// checkpoint. A caller that tolerates extra tensors (such as optimizer slots
// when loading for inference) can ignore MismatchError.Unexpected.
func (c *Checkpoint) Check(expected map[string][]int) error {
	var e MismatchError
	have := make(map[string]bool, len(c.Tensors))
	for _, t := range c.Tensors {
		if t == nil {
			continue
		}
		have[t.Name] = true
		want, ok := expected[t.Name]
		switch {
		case !ok:
			e.Unexpected = append(e.Unexpected, t.Name)
		case !slices.Equal(want, t.Shape):
			e.WrongShape = append(e.WrongShape, ShapeMismatch{Name: t.Name, Want: want, Got: t.Shape})
		}
	}
	for name := range expected {
		if !have[name] {
			e.Missing = append(e.Missing, name)
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.WrongShape) == 0 {
		return nil
	}
	slices.Sort(e.Missing)
	slices.Sort(e.Unexpected)
	slices.SortFunc(e.WrongShape, func(a, b ShapeMismatch) int { return strings.Compare(a.Name, b.Name) })
	return &e
}

// MismatchError is returned by Check. Each list is sorted by name.
type MismatchError struct {
	Missing    []string        // expected but not in the checkpoint
	Unexpected []string        // in the checkpoint but not expected
	WrongShape []ShapeMismatch // present with another shape
}

// ShapeMismatch is a tensor whose shape differs from the expected one.
type ShapeMismatch struct {
	Name      string
	Want, Got []int
}

// maxListed bounds how many names of each kind an error message lists: a
// wrong architecture mismatches nearly every tensor.
const maxListed = 5

func (e *MismatchError) Error() string {
	var parts []string
	list := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		shown := items[:min(len(items), maxListed)]
		s := fmt.Sprintf("%s %s: %s", what, plural(len(items), "tensor"), strings.Join(shown, ", "))
		if len(items) > len(shown) {
			s += fmt.Sprintf(" and %d more", len(items)-len(shown))
		}
		parts = append(parts, s)
	}
	list("missing", e.Missing)
	list("unexpected", e.Unexpected)
	var shapes []string
	for _, m := range e.WrongShape {
		shapes = append(shapes, fmt.Sprintf("%s is %v, want %v", m.Name, m.Got, m.Want))
	}
	list("wrong shape of", shapes)
	return "checkpoint does not match the architecture: " + strings.Join(parts, "; ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
