package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/artrobust/art/shared/checkpoint"
)

// ImportReport says what ImportTorchvision did with each tensor.
type ImportReport struct {
	// Loaded lists the model variables taken from the checkpoint.
	Loaded []string
	// Reinitialised lists the model variables freshly initialised instead:
	// the classifier when the class count differs, and layers torchvision's
	// model does not have (VGG16-GAP's conv6 and fc).
	Reinitialised []string
	// Ignored lists checkpoint tensors with no counterpart that are expected
	// to have none (num_batches_tracked, VGG16's fully connected classifier).
	Ignored []string
	// Reason says why the head was reinitialised, or is empty.
	Reason string
}

// torchSource is where one model variable comes from in a torchvision
// state_dict: the key, and how the layout changes.
type torchSource struct {
	key    string
	layout torchLayout
	head   bool // part of the classifier head, reinitialised when it does not fit
}

type torchLayout int

const (
	layoutSame torchLayout = iota // vectors
	layoutOIHW                    // conv kernel [out,in,kh,kw] -> [kh,kw,in,out]
	layoutOI                      // linear weight [out,in] -> [in,out]
)

// torchShape is the shape of the torchvision tensor a variable of the given
// (project) shape comes from.
func (l torchLayout) torchShape(s []int) []int {
	switch l {
	case layoutOIHW:
		return []int{s[3], s[2], s[0], s[1]}
	case layoutOI:
		return []int{s[1], s[0]}
	}
	return slices.Clone(s)
}

// convert rearranges torchvision's row-major values into the project's
// layout for a variable of (project) shape s.
func (l torchLayout) convert(v []float32, s []int) []float32 {
	out := make([]float32, len(v))
	switch l {
	case layoutOIHW:
		kh, kw, ci, co := s[0], s[1], s[2], s[3]
		for o := range co {
			for i := range ci {
				for y := range kh {
					for x := range kw {
						out[((y*kw+x)*ci+i)*co+o] = v[((o*ci+i)*kh+y)*kw+x]
					}
				}
			}
		}
	case layoutOI:
		in, o := s[0], s[1]
		for r := range o {
			for c := range in {
				out[c*o+r] = v[r*in+c]
			}
		}
	default:
		copy(out, v)
	}
	return out
}

// torchvisionSources maps every variable of the model to its torchvision
// state_dict key: resnetNN() for the ResNets; for VGG16-GAP, vgg16()'s
// features.N for the convolutions and ADL's names conv6 and fc for the head.
func (c Config) torchvisionSources() (map[string]torchSource, error) {
	src := map[string]torchSource{}
	bn := func(path, key string) {
		src[path+"/scale"] = torchSource{key: key + ".weight"}
		src[path+"/offset"] = torchSource{key: key + ".bias"}
		src[path+"/mean"] = torchSource{key: key + ".running_mean"}
		src[path+"/variance"] = torchSource{key: key + ".running_var"}
	}
	conv := func(path, key string, bias, head bool) {
		src[path+"/weights"] = torchSource{key: key + ".weight", layout: layoutOIHW, head: head}
		if bias {
			src[path+"/bias"] = torchSource{key: key + ".bias", head: head}
		}
	}
	switch c.Family {
	case FamilyResNet:
		conv("/conv1", "conv1", false, false)
		bn("/bn1", "bn1")
		for _, b := range c.resnetBlocks() {
			key := fmt.Sprintf("layer%d.%d", b.torchLayer, b.torchIdx)
			for _, cv := range b.convs() {
				conv(b.scope+"/"+cv.name, key+"."+cv.name, false, false)
				bn(b.scope+"/"+bnName(cv.name), key+"."+bnName(cv.name))
			}
			if b.project {
				conv(b.scope+"/downsample/conv", key+".downsample.0", false, false)
				bn(b.scope+"/downsample/bn", key+".downsample.1")
			}
		}
	case FamilyVGGGAP:
		for _, cv := range c.vggConvs() {
			conv(cv.scope(), fmt.Sprintf("features.%d", cv.torchIdx), true, false)
		}
		conv("/conv6", "conv6", true, true)
	default:
		return nil, fmt.Errorf("%s: torchvision weights exist only for the ResNet and VGG16-GAP families", c.Name())
	}
	src["/fc/weights"] = torchSource{key: "fc.weight", layout: layoutOI, head: true}
	src["/fc/bias"] = torchSource{key: "fc.bias", head: true}
	return src, nil
}

// ignoredTorchKey reports whether a torchvision key without a counterpart is
// expected: batch-norm step counters, and VGG16's classifier (the GAP
// network replaces it).
func (c Config) ignoredTorchKey(key string) bool {
	return strings.HasSuffix(key, ".num_batches_tracked") ||
		(c.Family == FamilyVGGGAP && strings.HasPrefix(key, "classifier."))
}

// ImportTorchvision builds the model's variable values from a checkpoint
// holding a torchvision state_dict under torchvision's own names and
// layouts (written by docs/convert_torchvision.py): conv kernels OIHW are
// transposed to HWIO and linear weights [out,in] to [in,out].
//
// The classifier head is taken only when all of it is present with the
// model's shapes; otherwise (ImageNet's 1000 classes against CUB's 200, or
// VGG16-GAP's conv6 and fc, which torchvision's VGG16 lacks) it is freshly
// initialised from seed as InitValues does, and the report says so. Any
// other missing, unexpected or wrongly shaped tensor is an error wrapping a
// *checkpoint.MismatchError with torchvision's names and shapes.
func ImportTorchvision(c Config, ck *checkpoint.Checkpoint, seed uint64) (map[string][]float32, *ImportReport, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	src, err := c.torchvisionSources()
	if err != nil {
		return nil, nil, err
	}
	for _, t := range ck.Tensors {
		if t != nil && strings.HasPrefix(t.Name, "/") {
			return nil, nil, fmt.Errorf("tensor %s has a project variable name: this is one of the project's checkpoints, not a converted torchvision state_dict (load it with -init)", t.Name)
		}
	}
	specs := c.Variables()
	mm := &checkpoint.MismatchError{}
	rep := &ImportReport{}
	used := map[string]bool{}
	headFits := true
	var headProblems []string
	for _, v := range specs {
		s := src[v.Path]
		t, ok := ck.Tensor(s.key)
		want := s.layout.torchShape(v.Shape)
		switch {
		case !ok && s.head:
			headFits = false
			headProblems = append(headProblems, s.key+" is absent")
		case !ok:
			mm.Missing = append(mm.Missing, s.key)
		case !slices.Equal(t.Shape, want) && s.head:
			headFits = false
			used[s.key] = true
			headProblems = append(headProblems, fmt.Sprintf("%s is %v, the model's %v", s.key, t.Shape, want))
		case !slices.Equal(t.Shape, want):
			used[s.key] = true
			mm.WrongShape = append(mm.WrongShape, checkpoint.ShapeMismatch{Name: s.key, Want: want, Got: t.Shape})
		default:
			used[s.key] = true
		}
	}
	for _, t := range ck.Tensors {
		if t == nil || used[t.Name] {
			continue
		}
		if c.ignoredTorchKey(t.Name) {
			rep.Ignored = append(rep.Ignored, t.Name)
			continue
		}
		mm.Unexpected = append(mm.Unexpected, t.Name)
	}
	if len(mm.Missing)+len(mm.Unexpected)+len(mm.WrongShape) > 0 {
		slices.Sort(mm.Missing)
		slices.Sort(mm.Unexpected)
		return nil, nil, fmt.Errorf("torchvision weights for %s: %w", c.Name(), mm)
	}

	init := c.InitValues(seed)
	vals := make(map[string][]float32, len(specs))
	for _, v := range specs {
		s := src[v.Path]
		if s.head && !headFits {
			vals[v.Path] = init[v.Path]
			rep.Reinitialised = append(rep.Reinitialised, v.Path)
			continue
		}
		t, _ := ck.Tensor(s.key)
		x, err := t.Float32s()
		if err != nil {
			return nil, nil, fmt.Errorf("torchvision tensor %s: %w", s.key, err)
		}
		vals[v.Path] = s.layout.convert(x, v.Shape)
		rep.Loaded = append(rep.Loaded, v.Path)
	}
	if !headFits {
		rep.Reason = "classifier reinitialised for " + fmt.Sprint(c.NumClasses) + " classes: " + strings.Join(headProblems, "; ")
	}
	return vals, rep, nil
}
