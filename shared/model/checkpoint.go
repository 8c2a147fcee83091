package model

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/gomlx/compute"
)

// Arch describes the configuration as checkpoint metadata.
func (c Config) Arch() checkpoint.Arch {
	return checkpoint.Arch{Name: c.Name(), Depth: c.Depth, Width: c.Width,
		NumClasses: c.NumClasses, InputSize: c.InputSize, Channels: c.Channels}
}

// ConfigFromMeta rebuilds a model configuration from checkpoint metadata.
func ConfigFromMeta(m checkpoint.Meta) (Config, error) {
	a := m.Arch
	if a.Name == "" {
		return Config{}, errors.New("checkpoint metadata names no architecture")
	}
	c, err := ParseArch(a.Name, a.NumClasses, a.InputSize, a.Channels)
	if err != nil {
		return Config{}, fmt.Errorf("checkpoint architecture: %w", err)
	}
	if a.Depth != 0 && (a.Depth != c.Depth || a.Width != c.Width) {
		return Config{}, fmt.Errorf("checkpoint architecture %q disagrees with its depth %d and width %d", a.Name, a.Depth, a.Width)
	}
	if len(m.Normalization.Mean) > 0 || len(m.Normalization.Std) > 0 {
		c.Mean, c.Std = m.Normalization.Mean, m.Normalization.Std
	}
	return c, c.Validate()
}

// Shapes maps every variable path to its shape, as checkpoint.Check expects.
func (c Config) Shapes() map[string][]int {
	m := make(map[string][]int)
	for _, v := range c.Variables() {
		m[v.Path] = v.Shape
	}
	return m
}

// ValuesFromCheckpoint extracts the model's variables from a checkpoint,
// with a clear error when the checkpoint belongs to another architecture or
// holds a weight that is not finite. Extra tensors (such as optimizer state)
// are ignored.
//
// The architecture is checked against what the file can back before it is
// listed: a model needs one tensor per variable, so metadata naming a
// network of far more variables than the file has tensors is refused from
// the count alone (a near miss is listed, to name the missing tensors), and
// then every variable must be a tensor of exactly its shape. So the listing
// stays within a few times the file's own tensor table, and no shape is used
// that the file's bytes do not hold.
func (c Config) ValuesFromCheckpoint(ck *checkpoint.Checkpoint) (map[string][]float32, error) {
	if n := c.numVariables(); n > 4*len(ck.Tensors)+64 {
		return nil, fmt.Errorf("%s: checkpoint does not match the architecture: it needs %d tensors, the file holds %d",
			c.Name(), n, len(ck.Tensors))
	}
	if err := ck.Check(c.Shapes()); err != nil {
		var mm *checkpoint.MismatchError
		if !errors.As(err, &mm) || len(mm.Missing)+len(mm.WrongShape) > 0 {
			return nil, fmt.Errorf("%s: %w", c.Name(), err)
		}
	}
	vals := make(map[string][]float32)
	for _, v := range c.Variables() {
		t, _ := ck.Tensor(v.Path)
		x, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", v.Path, err)
		}
		for i, f := range x {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, fmt.Errorf("tensor %s holds %v at index %d: the weights are not finite", v.Path, f, i)
			}
		}
		vals[v.Path] = x
	}
	return vals, nil
}

// LoadNet builds a model from a checkpoint: the architecture and
// normalisation from its metadata, the weights from its tensors.
func LoadNet(backend compute.Backend, ck *checkpoint.Checkpoint) (*Net, error) {
	cfg, err := ConfigFromMeta(ck.Meta)
	if err != nil {
		return nil, err
	}
	vals, err := cfg.ValuesFromCheckpoint(ck)
	if err != nil {
		return nil, err
	}
	return NewNet(backend, cfg, vals)
}

// Checkpoint packs the model's variables, plus any extra named tensors
// (e.g. optimizer state), with meta. The architecture, normalisation and
// activation fields of meta are filled in from the model.
func (n *Net) Checkpoint(meta checkpoint.Meta, extra map[string][]float32) (*checkpoint.Checkpoint, error) {
	vals, err := n.Values()
	if err != nil {
		return nil, err
	}
	meta.Arch = n.Config.Arch()
	meta.Normalization = checkpoint.Normalization{Mean: n.Config.Mean, Std: n.Config.Std}
	ck := &checkpoint.Checkpoint{Meta: meta}
	for _, v := range n.Config.Variables() {
		ck.Tensors = append(ck.Tensors, checkpoint.NewFloat32(v.Path, v.Shape, vals[v.Path]))
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		if _, isModel := vals[name]; isModel {
			return nil, fmt.Errorf("extra tensor %s collides with a model variable", name)
		}
		ck.Tensors = append(ck.Tensors, checkpoint.NewFloat32(name, []int{len(extra[name])}, extra[name]))
	}
	return ck, nil
}
