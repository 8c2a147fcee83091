package data

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// Spec selects a dataset: "shapes" (the built-in procedural dataset, the
// default), "mnist" (fetched through the Go module proxy, see MNISTDir),
// "fashion-mnist" (Debian's package, FashionMNISTDir), or "NAME:PATH" with
// NAME one of mnist, fashion-mnist, cifar10, svhn, gtsrb, flowers17, cub and
// PATH the directory the dataset was unpacked into.
type Spec struct {
	Name, Path string
}

// ParseSpec parses a dataset spec such as "shapes" or "cifar10:/data/cifar".
func ParseSpec(s string) (Spec, error) {
	name, path, _ := strings.Cut(s, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "", "shapes":
		if path != "" {
			return Spec{}, fmt.Errorf("dataset spec %q: the built-in shapes dataset takes no path", s)
		}
		return Spec{Name: "shapes"}, nil
	case "mnist", "fashion-mnist":
		return Spec{Name: name, Path: path}, nil
	case "cifar10", "svhn", "gtsrb", "flowers17", "cub":
		if path == "" {
			return Spec{}, fmt.Errorf("dataset spec %q: %s needs a directory, e.g. %s:/data/%s", s, name, name, name)
		}
		return Spec{Name: name, Path: path}, nil
	}
	return Spec{}, fmt.Errorf("unknown dataset %q (want shapes, mnist, fashion-mnist, cifar10:PATH, svhn:PATH, gtsrb:PATH, flowers17:PATH or cub:PATH; mnist and fashion-mnist also take :PATH)", name)
}

func (s Spec) String() string {
	if s.Path == "" {
		return s.Name
	}
	return s.Name + ":" + s.Path
}

// LoadOptions sizes the loaded split. Zero values take each dataset's
// defaults.
type LoadOptions struct {
	// Size is the image side for datasets that are resized (shapes: 32,
	// gtsrb: 32, flowers17 and cub: 224). CIFAR-10 and SVHN are 32x32,
	// MNIST and Fashion-MNIST 28x28.
	Size int
	// N is the number of shapes images to generate, or (for cub) the most
	// images to load; 0 loads a whole split (shapes: 10000 train, 2000 test).
	N int
	// Seed seeds the shapes generator.
	Seed uint64
	// Fold selects the Flowers-17 split (1..3; default 1).
	Fold int
}

// Load loads one split ("train" or "test"; flowers17 also has "val") of
// the dataset.
func (s Spec) Load(split string, o LoadOptions) (*Dataset, error) {
	switch s.Name {
	case "shapes":
		n := o.N
		if n == 0 {
			n = 10000
			if split == "test" {
				n = 2000
			}
		}
		return Shapes(ShapesConfig{N: n, Size: o.Size, Seed: o.Seed, Split: split})
	case "mnist":
		dir := s.Path
		if dir == "" {
			var err error
			if dir, err = MNISTDir(); err != nil {
				return nil, err
			}
		}
		return LoadMNIST(dir, split)
	case "fashion-mnist":
		return LoadFashionMNIST(cmp.Or(s.Path, FashionMNISTDir), split)
	case "cifar10":
		return LoadCIFAR10(s.Path, split)
	case "svhn":
		return LoadSVHN(s.Path, split)
	case "gtsrb":
		return LoadGTSRB(s.Path, split, orDefault(o.Size, 32))
	case "flowers17":
		return LoadFlowers17(s.Path, split, orDefault(o.Fold, 1), orDefault(o.Size, 224))
	case "cub":
		return LoadCUB(s.Path, split, orDefault(o.Size, 224), o.N)
	}
	return nil, fmt.Errorf("unknown dataset %q", s.Name)
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// ChannelStats returns the per-channel mean and standard deviation of the
// dataset's images, the input normalisation a model trained on it uses.
func (d *Dataset) ChannelStats() (mean, std []float32) {
	c := d.Channels
	sum, sq := make([]float64, c), make([]float64, c)
	for i, v := range d.Images {
		sum[i%c] += float64(v)
		sq[i%c] += float64(v) * float64(v)
	}
	n := float64(len(d.Images) / max(c, 1))
	mean, std = make([]float32, c), make([]float32, c)
	for k := range c {
		m := sum[k] / n
		v := sq[k]/n - m*m
		mean[k] = float32(m)
		std[k] = float32(max(sqrtPos(v), 1e-3))
	}
	return mean, std
}

func sqrtPos(v float64) float64 {
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}
