// Package corrupt generates the common corruptions of CIFAR-10-C (Hendrycks
// & Dietterich, "Benchmarking neural network robustness to common
// corruptions and perturbations", ICLR 2019): 15 corruption types in four
// groups (noise, blur, weather, digital) at 5 severities, on float32 images
// in [0,1] of any size, deterministically from a seed.
//
// The parameters are those of the reference generator for 32x32 images
// (make_cifar_c.py in github.com/hendrycks/robustness), documented per
// type; pixel-valued parameters (blur radii, shifts) are used as they are at
// every image size, except where the reference expresses them as fractions
// of the image size (elastic_transform, pixelate). Where the reference calls
// a library (scikit-image, OpenCV, ImageMagick, Pillow, SciPy), this package
// reimplements the documented behaviour of that call. Two parts cannot be
// reproduced exactly: frost blends in crops of six frost photographs that
// are not available here, so the frost layer is synthesised (see Frost);
// and random draws come from Go's PCG generator, not NumPy's, so a seed
// gives other images than the reference, with the same distribution.
//
// One seed draws the same random fields at every severity of a type, so
// severities of one image differ only through their parameters. The
// reference stores its results as uint8 (truncating); Apply returns float32
// values without that final rounding.
package corrupt

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
)

// Severities is the number of severity levels, 1 to Severities.
const Severities = 5

// kind is one corruption: its function of a working image, a severity
// index 0..4 and a random source.
type kind func(im *image, s int, rng *rand.Rand) *image

var kinds = map[string]kind{
	"gaussian_noise":    gaussianNoise,
	"shot_noise":        shotNoise,
	"impulse_noise":     impulseNoise,
	"defocus_blur":      defocusBlur,
	"glass_blur":        glassBlur,
	"motion_blur":       motionBlur,
	"zoom_blur":         zoomBlur,
	"snow":              snow,
	"frost":             frost,
	"fog":               fog,
	"brightness":        brightness,
	"contrast":          contrast,
	"elastic_transform": elasticTransform,
	"pixelate":          pixelate,
	"jpeg_compression":  jpegCompression,
}

// names lists the types in the order of the CIFAR-10-C tables.
var names = []string{
	"gaussian_noise", "shot_noise", "impulse_noise",
	"defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
	"snow", "frost", "fog",
	"brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
}

// Names returns the 15 corruption types in the order of the CIFAR-10-C
// tables (noise, blur, weather, digital). The slice is a fresh copy.
func Names() []string { return slices.Clone(names) }

// Apply corrupts one HWC image (h*w*c values in [0,1], c = 1 or 3) with the
// named type at a severity from 1 to 5 and returns a new image of the same
// shape with values in [0,1]. The same (name, severity, image, seed) always
// gives the same result.
func Apply(name string, severity int, img []float32, h, w, c int, seed uint64) ([]float32, error) {
	f, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("corrupt: unknown corruption %q (want one of %v)", name, names)
	}
	if severity < 1 || severity > Severities {
		return nil, fmt.Errorf("corrupt: severity %d outside [1, %d]", severity, Severities)
	}
	if h < 1 || w < 1 || (c != 1 && c != 3) {
		return nil, fmt.Errorf("corrupt: image of %dx%dx%d: want positive sides and 1 or 3 channels", h, w, c)
	}
	if len(img) != h*w*c {
		return nil, fmt.Errorf("corrupt: %d values for a %dx%dx%d image", len(img), h, w, c)
	}
	for i, v := range img {
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("corrupt: value %v at %d outside [0,1]", v, i)
		}
	}
	im := newImage(h, w, c)
	for i, v := range img {
		im.pix[i] = float64(v)
	}
	out := f(im, severity-1, rand.New(rand.NewPCG(seed, stream(name))))
	res := make([]float32, len(img))
	for i, v := range out.pix {
		res[i] = float32(clamp01(v))
	}
	return res, nil
}

// ApplyBatch corrupts n NHWC images, image i with seed ImageSeed(seed, i),
// so that the images of a batch get independent random fields.
func ApplyBatch(name string, severity int, imgs []float32, n, h, w, c int, seed uint64) ([]float32, error) {
	if n < 0 || len(imgs) != n*h*w*c {
		return nil, fmt.Errorf("corrupt: %d values for %d images of %dx%dx%d", len(imgs), n, h, w, c)
	}
	out := make([]float32, 0, len(imgs))
	per := h * w * c
	for i := range n {
		r, err := Apply(name, severity, imgs[i*per:(i+1)*per], h, w, c, ImageSeed(seed, i))
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out = append(out, r...)
	}
	return out, nil
}

// ImageSeed is the seed ApplyBatch uses for image i of a batch corrupted
// with seed: a SplitMix64 mix of both.
func ImageSeed(seed uint64, i int) uint64 {
	z := seed + 0x9e3779b97f4a7c15*uint64(i+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// stream is the PCG stream of a type, so that types draw independent
// fields from one seed.
func stream(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func clamp01(v float64) float64 { return min(1, max(0, v)) }

// image is a working HWC image in float64.
type image struct {
	h, w, c int
	pix     []float64
}

func newImage(h, w, c int) *image { return &image{h, w, c, make([]float64, h*w*c)} }

func (im *image) at(y, x, ch int) float64     { return im.pix[(y*im.w+x)*im.c+ch] }
func (im *image) set(y, x, ch int, v float64) { im.pix[(y*im.w+x)*im.c+ch] = v }

func (im *image) clone() *image {
	return &image{im.h, im.w, im.c, slices.Clone(im.pix)}
}

// clip clamps every value to [0,1] in place and returns im.
func (im *image) clip() *image {
	for i, v := range im.pix {
		im.pix[i] = clamp01(v)
	}
	return im
}

// quantize rounds in place to 8-bit levels as a conversion to uint8 does:
// truncating (NumPy's astype) or rounding (Pillow, OpenCV).
func (im *image) quantize(truncate bool) *image {
	for i, v := range im.pix {
		q := clamp01(v) * 255
		if truncate {
			q = float64(int(q))
		} else {
			q = float64(int(q + 0.5))
		}
		im.pix[i] = q / 255
	}
	return im
}

// gray returns the luma of each pixel (OpenCV's RGB2GRAY weights 0.299,
// 0.587, 0.114), or the single channel.
func (im *image) gray() []float64 {
	g := make([]float64, im.h*im.w)
	for i := range g {
		if im.c == 1 {
			g[i] = im.pix[i]
			continue
		}
		p := im.pix[i*3 : i*3+3]
		g[i] = 0.299*p[0] + 0.587*p[1] + 0.114*p[2]
	}
	return g
}
