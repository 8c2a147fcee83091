package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// DefaultClutter is the clutter level a zero ShapesConfig.Clutter selects.
const DefaultClutter = 0.5

// NoClutter, as ShapesConfig.Clutter, draws no distractors: only the object
// on its textured background.
const NoClutter = -1.0

// DefaultShapesSize is the image side a zero ShapesConfig.Size selects.
const DefaultShapesSize = 32

// Bounds on ShapesConfig.Size: below 16 pixels the thinnest parts of the
// shapes vanish; the upper bound only guards against absurd allocations.
const (
	MinShapesSize = 16
	MaxShapesSize = 1024
)

// shapesClasses names the classes in label order. The outlines are chosen to
// stay distinct under their rotations: squares and diamonds turn by at most
// 20 degrees and diamonds are elongated, so neither becomes the other.
var shapesClasses = [...]string{
	"circle", "square", "triangle", "star", "plus",
	"ring", "diamond", "crescent", "arrow", "heart",
}

// ShapesClasses returns the class names of the shapes dataset in label order.
// The slice is a fresh copy.
func ShapesClasses() []string {
	c := shapesClasses
	return c[:]
}

// ShapesConfig describes one split of the procedural shapes dataset. The zero
// value of every field except N selects a default.
type ShapesConfig struct {
	// N is the number of images.
	N int
	// Size is the side of the square RGB images in pixels, from MinShapesSize
	// to MaxShapesSize; 0 selects DefaultShapesSize (32).
	Size int
	// Seed selects the dataset. A config gives the same bytes on every
	// platform and at every GOMAXPROCS.
	Seed uint64
	// Split is "train" (or "") or "test". The splits of one seed draw from
	// independent random streams, so their images never coincide.
	Split string
	// Clutter, in [0, 1], sets how many distractors (thin lines, short arcs,
	// small dots) lie on the background behind the object: between 4*Clutter
	// and 16*Clutter of them, uniformly. 0 selects DefaultClutter; NoClutter
	// (any negative value) draws none.
	Clutter float64
}

// shapesParams is a validated ShapesConfig with its defaults filled in.
type shapesParams struct {
	n, size int
	seed    uint64
	split   string
	splitID uint64
	clutter float64
}

func (cfg ShapesConfig) params() (shapesParams, error) {
	p := shapesParams{n: cfg.N, size: cfg.Size, seed: cfg.Seed, split: cfg.Split, clutter: cfg.Clutter}
	if p.n < 0 {
		return p, fmt.Errorf("shapes: negative image count %d", p.n)
	}
	if p.size == 0 {
		p.size = DefaultShapesSize
	}
	if p.size < MinShapesSize || p.size > MaxShapesSize {
		return p, fmt.Errorf("shapes: image size %d outside [%d, %d]", p.size, MinShapesSize, MaxShapesSize)
	}
	if p.n > math.MaxInt/(p.size*p.size*3) {
		return p, fmt.Errorf("shapes: %d images of %dx%d do not fit in memory", p.n, p.size, p.size)
	}
	// The split IDs are arbitrary distinct constants mixed into every
	// image's seed; they must never change, or datasets would change.
	switch p.split {
	case "", "train":
		p.split, p.splitID = "train", 0x747261696e
	case "test":
		p.splitID = 0x74657374
	default:
		return p, fmt.Errorf("shapes: unknown split %q (want \"train\" or \"test\")", cfg.Split)
	}
	switch {
	case math.IsNaN(p.clutter) || p.clutter > 1:
		return p, fmt.Errorf("shapes: clutter %v outside [0, 1]", cfg.Clutter)
	case p.clutter == 0:
		p.clutter = DefaultClutter
	case p.clutter < 0:
		p.clutter = 0
	}
	return p, nil
}

// Shapes generates the procedural shapes dataset: cfg.N RGB images of
// cfg.Size x cfg.Size pixels, each holding one object of ten classes (see
// ShapesClasses) at a random position, scale, rotation, aspect and colour on
// a textured (gradient, value noise, stripes), cluttered and noisy
// background, with the object's box and mask.
//
// Labels cycle through the classes (image i has label i mod 10), so every
// prefix of the dataset is balanced; shuffle before batching. Object colours
// are drawn independently of the class, at least 0.3 (Euclidean, RGB in
// [0,1]) away from every background colour under the object, so only the
// outline tells the classes apart. The object's box spans about 40% to 80%
// of the image side; distractors lie behind it, are thinner or smaller than
// any object and are never class shapes. Edges are anti-aliased.
//
// Masks are 1 where the object covers at least half of a pixel (where the
// pixel's centre lies inside the outline), and each box is the tight bound
// of its mask. A given Seed, Split and index show the same scene at every
// Size and every Clutter, only at another resolution or with other
// distractors.
func Shapes(cfg ShapesConfig) (*Dataset, error) {
	p, err := cfg.params()
	if err != nil {
		return nil, err
	}
	indices := make([]int, p.n)
	for i := range indices {
		indices[i] = i
	}
	return p.render(indices), nil
}

// ShapesAt renders only the given images of the dataset Shapes(cfg) returns,
// in the order given: the result equals Shapes(cfg).Subset(indices) without
// the cost of rendering the rest. Each image depends only on (Seed, Split,
// Clutter, Size, index), so a gallery can show a few images of a large set.
func ShapesAt(cfg ShapesConfig, indices []int) (*Dataset, error) {
	p, err := cfg.params()
	if err != nil {
		return nil, err
	}
	for _, i := range indices {
		if i < 0 || i >= p.n {
			return nil, fmt.Errorf("shapes: image index %d outside [0, %d)", i, p.n)
		}
	}
	return p.render(indices), nil
}

// render draws the given images on up to GOMAXPROCS goroutines. Each image
// has its own random stream, so the split of work does not change a bit.
func (p shapesParams) render(indices []int) *Dataset {
	n, s := len(indices), p.size
	d := &Dataset{
		Name:    "shapes/" + p.split,
		Classes: ShapesClasses(),
		Height:  s, Width: s, Channels: 3,
		Images: make([]float32, n*s*s*3),
		Labels: make([]int, n),
		Boxes:  make([]Box, n),
		Masks:  make([]uint8, n*s*s),
	}
	workers := min(runtime.GOMAXPROCS(0), (n+15)/16)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCanvas(s)
			for j := w; j < n; j += workers {
				d.Labels[j], d.Boxes[j] = p.draw(c, indices[j], d.Image(j), d.Mask(j))
			}
		}()
	}
	wg.Wait()
	return d
}

// source returns random stream k of image i. SplitMix64 scrambles the
// inputs so that neighbouring seeds, indices and streams give unrelated PCG
// states.
func (p shapesParams) source(i int, k uint64) *rand.Rand {
	hi := splitMix64(p.seed ^ splitMix64(p.splitID))
	lo := splitMix64(uint64(i) ^ splitMix64(k<<32))
	return rand.New(rand.NewPCG(hi, lo))
}

// splitMix64 is the output function of Vigna's SplitMix64 generator, a
// bijective 64-bit mixer.
func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
