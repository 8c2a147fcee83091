package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/render"
	"github.com/nfnt/resize"
)

// encodeNPY encodes float32 values of the given shape in NumPy's .npy format
// version 1.0 (little-endian '<f4', C order): magic, version, a header
// length, a Python-dict header padded with spaces to a multiple of 64 bytes
// and ending in '\n', then the raw values.
func encodeNPY(values []float32, shape ...int) ([]byte, error) {
	n := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("npy: negative dimension %d", d)
		}
		n *= d
		dims[i] = strconv.Itoa(d)
	}
	if n != len(values) {
		return nil, fmt.Errorf("npy: %d values for shape %v", len(values), shape)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	const prefix = 10 // magic (6) + version (2) + header length (2)
	total := prefix + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return nil, errors.New("npy: header too long for format 1.0")
	}
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	raw := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.Write(raw)
	return b.Bytes(), nil
}

func writeNPY(path string, values []float32, shape ...int) error {
	b, err := encodeNPY(values, shape...)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// loadInput reads the image to explain: "shapes:INDEX" (an image of the
// built-in shapes test split, with its label), "mnist:INDEX" or
// "fashion-mnist:INDEX" (an image of that test split, with its label) or a
// PNG/JPEG file resized to size x size. It returns HWC values in [0,1] and
// the label (-1 if unknown).
func loadInput(spec string, size, channels int, seed uint64) ([]float32, int, error) {
	for _, name := range []string{"mnist", "fashion-mnist"} {
		rest, ok := strings.CutPrefix(spec, name+":")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 {
			return nil, -1, fmt.Errorf("bad image %q: want %s:INDEX", spec, name)
		}
		ds, err := data.Spec{Name: name}.Load("test", data.LoadOptions{})
		if err != nil {
			return nil, -1, err
		}
		if i >= ds.Len() {
			return nil, -1, fmt.Errorf("bad image %q: the %s test split has %d images", spec, name, ds.Len())
		}
		if ds.Height != size || ds.Channels != channels {
			return nil, -1, fmt.Errorf("the %s images are %dx%dx%d; the model takes %dx%dx%d", name, ds.Height, ds.Width, ds.Channels, size, size, channels)
		}
		return ds.Image(i), ds.Labels[i], nil
	}
	if rest, ok := strings.CutPrefix(spec, "shapes:"); ok {
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 {
			return nil, -1, fmt.Errorf("bad image %q: want shapes:INDEX", spec)
		}
		if channels != 3 {
			return nil, -1, fmt.Errorf("the shapes images are RGB; the model takes %d channels", channels)
		}
		ds, err := data.ShapesAt(data.ShapesConfig{N: i + 1, Size: size, Seed: seed, Split: "test"}, []int{i})
		if err != nil {
			return nil, -1, err
		}
		return ds.Image(0), ds.Labels[0], nil
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, -1, fmt.Errorf("image %s: %w", spec, errors.Unwrap(err))
	}
	if st.IsDir() {
		return nil, -1, fmt.Errorf("image %s is a directory, not a PNG or JPEG file", spec)
	}
	if st.Size() > maxInputBytes {
		return nil, -1, fmt.Errorf("image %s has %d MB; the limit is %d MB", spec, st.Size()>>20, maxInputBytes>>20)
	}
	b, err := readLimited(spec, maxInputBytes, imageHead)
	if err != nil {
		return nil, -1, fmt.Errorf("image %s: %w", spec, err)
	}
	x, err := decodeInputImage(b, size, channels)
	if err != nil {
		return nil, -1, fmt.Errorf("image %s: %w", spec, err)
	}
	return x, -1, nil
}

// Limits on an image file to explain or attack: larger ones are refused from
// the file size or the image header, before any pixel is decoded.
const (
	maxInputBytes = 64 << 20
	maxInputSide  = 8192
)

// imageHead refuses, from its first bytes, a file that is empty or neither
// a PNG nor a JPEG (the messages are decodeInputImage's).
func imageHead(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("the file is empty")
	case !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) && !bytes.HasPrefix(b, []byte{0xff, 0xd8}):
		return errors.New("not a PNG or JPEG image")
	}
	return nil
}

// decodeInputImage decodes a PNG or JPEG file's bytes and resizes the image
// to size x size (HWC values in [0,1], 1 or 3 channels). Its width and
// height are read from the header and checked before the pixels are
// decoded.
func decodeInputImage(b []byte, size, channels int) ([]float32, error) {
	if len(b) == 0 {
		return nil, errors.New("the file is empty")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, errors.New("not a PNG or JPEG image")
	}
	if format != "png" && format != "jpeg" {
		return nil, fmt.Errorf("%s images are not supported; use PNG or JPEG", format)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxInputSide || cfg.Height > maxInputSide {
		return nil, fmt.Errorf("the image is %dx%d pixels; it must be 1x1 to %dx%d", cfg.Width, cfg.Height, maxInputSide, maxInputSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the %s image is damaged: %v", format, err)
	}
	x, _, err := imageToHWC(resize.Resize(uint(size), uint(size), img, resize.Bilinear), channels)
	return x, err
}

// imageToHWC converts an image to HWC float32 in [0,1] with 1 (luma) or 3
// channels.
func imageToHWC(img image.Image, channels int) ([]float32, int, error) {
	if channels != 1 && channels != 3 {
		return nil, -1, fmt.Errorf("models with %d channels are not supported", channels)
	}
	b := img.Bounds()
	out := make([]float32, 0, b.Dx()*b.Dy()*channels)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			fr, fg, fb := float32(r)/65535, float32(g)/65535, float32(bl)/65535
			if channels == 1 {
				out = append(out, 0.299*fr+0.587*fg+0.114*fb)
			} else {
				out = append(out, fr, fg, fb)
			}
		}
	}
	return out, -1, nil
}

// explainMethod builds the attribution method named by the flags, on the
// ReLU model.
func explainMethod(name string, igSteps, samples int, sigma float64, seed uint64) (attribution.Method, error) {
	switch {
	case name == "ig" && igSteps < 1:
		return nil, fmt.Errorf("-ig-steps %d: need at least 1", igSteps)
	case (name == "smoothgrad" || name == "gradshap") && samples < 1:
		return nil, fmt.Errorf("-samples %d: need at least 1", samples)
	case (name == "smoothgrad" || name == "gradshap") && !(sigma >= 0):
		return nil, fmt.Errorf("-sigma %g: must not be negative", sigma)
	}
	switch name {
	case "grad":
		return attribution.Gradient{Act: model.ReLU}, nil
	case "ixg":
		return attribution.InputXGradient{Act: model.ReLU}, nil
	case "ig":
		return attribution.IntegratedGradients{Steps: igSteps, ChunkSize: 25, Act: model.ReLU}, nil
	case "smoothgrad":
		return attribution.SmoothGrad{Samples: samples, Sigma: sigma, Seed: seed, ChunkSize: 25, Act: model.ReLU}, nil
	case "gradshap":
		return attribution.GradientSHAP{Samples: samples, Sigma: sigma, Seed: seed, ChunkSize: 25, Act: model.ReLU}, nil
	case "gradcam":
		return attribution.GradCAM{Act: model.ReLU}, nil
	}
	return nil, fmt.Errorf("unknown method %q (want grad, ixg, ig, smoothgrad, gradshap or gradcam)", name)
}

// Prediction is the model's output for one image.
type Prediction struct {
	Class         int       `json:"class"`
	ClassName     string    `json:"class_name,omitempty"`
	Probabilities []float64 `json:"probabilities"`
	Logits        []float64 `json:"logits"`
}

// String is "3 (star, p=0.893)", or "3 (p=0.893)" for a checkpoint
// without class names.
func (p Prediction) String() string {
	name := ""
	if p.ClassName != "" {
		name = p.ClassName + ", "
	}
	prob := math.NaN()
	if p.Class >= 0 && p.Class < len(p.Probabilities) {
		prob = p.Probabilities[p.Class]
	}
	return fmt.Sprintf("%d (%sp=%.3f)", p.Class, name, prob)
}

func predict(net *model.Net, x []float32, names []string) (Prediction, error) {
	logits, err := net.Predict(x, model.ReLU)
	if err != nil {
		return Prediction{}, err
	}
	p := Prediction{Class: model.Argmax(logits, net.Config.NumClasses)[0]}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	sum := 0.0
	for _, v := range logits {
		p.Logits = append(p.Logits, float64(v))
		e := math.Exp(float64(v) - mx)
		p.Probabilities = append(p.Probabilities, e)
		sum += e
	}
	for i := range p.Probabilities {
		p.Probabilities[i] /= sum
	}
	if p.Class < len(names) {
		p.ClassName = names[p.Class]
	}
	return p, nil
}

// loadCheckpoint reads a checkpoint and builds its network on the backend.
func loadCheckpoint(path string) (*model.Net, checkpoint.Meta, error) {
	ck, err := checkpoint.ReadFile(path)
	if err != nil {
		return nil, checkpoint.Meta{}, err
	}
	backend, err := newBackend(attributionWork)
	if err != nil {
		return nil, checkpoint.Meta{}, err
	}
	net, err := model.LoadNet(backend, ck)
	if err != nil {
		return nil, checkpoint.Meta{}, fmt.Errorf("%s: %w", path, err)
	}
	return net, ck.Meta, nil
}

// writeMapPNG writes the |map| saliency of attr over the image x as an
// overlay, upscaled to at least 256 pixels across.
func writeMapPNG(path string, x, attr []float32, h, w, c int) error {
	s, err := render.Saliency(attr, h, w, c, render.Abs)
	if err != nil {
		return err
	}
	heat, err := render.PercentileClip(s, 0, 99)
	if err != nil {
		return err
	}
	img, err := render.Overlay(x, h, w, c, heat, render.DefaultColormap(render.Abs), 0.5)
	if err != nil {
		return err
	}
	return writePNG(path, img, w)
}

func writeImagePNG(path string, x []float32, h, w, c int) error {
	img, err := render.ToRGBA(x, h, w, c)
	if err != nil {
		return err
	}
	return writePNG(path, img, w)
}

func writePNG(path string, img image.Image, w int) error {
	if f := (256 + w - 1) / w; f > 1 {
		up, err := render.Upscale(img, f)
		if err != nil {
			return err
		}
		img = up
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ExplainOptions are the settings of "art explain".
type ExplainOptions struct {
	Ckpt    string  `json:"ckpt"`
	Image   string  `json:"image"`
	Method  string  `json:"method"`
	Target  int     `json:"target"`
	IGSteps int     `json:"ig_steps"`
	Samples int     `json:"samples"`
	Sigma   float64 `json:"sigma"`
	Seed    uint64  `json:"seed"`
	Out     string  `json:"-"`
}

func runExplain(args []string, stdout, stderr io.Writer) error {
	o := ExplainOptions{Method: "ig", Target: -1, IGSteps: 100, Samples: 50, Sigma: 0.15, Seed: 1, Out: "explain"}
	fs := flag.NewFlagSet("art explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Ckpt, "ckpt", o.Ckpt, "checkpoint")
	fs.StringVar(&o.Image, "image", o.Image, "PNG or JPEG file (resized to the model's input), or shapes:INDEX for a built-in test image\n(mnist:INDEX, fashion-mnist:INDEX: that test image)")
	fs.StringVar(&o.Method, "method", o.Method, "attribution method: grad, ixg, ig, smoothgrad, gradshap or gradcam")
	fs.IntVar(&o.Target, "target", o.Target, "class to explain (-1: the predicted class)")
	fs.IntVar(&o.IGSteps, "ig-steps", o.IGSteps, "Integrated Gradients steps")
	fs.IntVar(&o.Samples, "samples", o.Samples, "SmoothGrad / GradientSHAP samples")
	fs.Float64Var(&o.Sigma, "sigma", o.Sigma, "SmoothGrad / GradientSHAP noise std (pixel units)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the noise and of the shapes test split")
	fs.StringVar(&o.Out, "out", o.Out, "output directory")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	return Explain(o, stdout)
}

// ExplainResult is explain.json.
type ExplainResult struct {
	Settings   ExplainOptions `json:"settings"`
	MethodDesc string         `json:"method_description"`
	Label      int            `json:"label"`
	Target     int            `json:"target"`
	Prediction Prediction     `json:"prediction"`
	Shape      []int          `json:"shape"`
	Files      []string       `json:"files"`
}

// Explain writes the prediction and the attribution map of one image.
func Explain(o ExplainOptions, stdout io.Writer) error {
	if o.Ckpt == "" || o.Image == "" {
		return errors.New("-ckpt and -image are required")
	}
	if err := checkOutputDir("-out", o.Out); err != nil {
		return err
	}
	m, err := explainMethod(o.Method, o.IGSteps, o.Samples, o.Sigma, o.Seed)
	if err != nil {
		return err
	}
	net, meta, err := loadCheckpoint(o.Ckpt)
	if err != nil {
		return err
	}
	h, c := net.Config.InputSize, net.Config.Channels
	x, label, err := loadInput(o.Image, h, c, o.Seed)
	if err != nil {
		return err
	}
	pred, err := predict(net, x, meta.ClassNames)
	if err != nil {
		return err
	}
	target := o.Target
	if target < 0 {
		target = pred.Class
	}
	if target >= net.Config.NumClasses {
		return fmt.Errorf("-target %d: the model has %d classes (0 to %d)", target, net.Config.NumClasses, net.Config.NumClasses-1)
	}
	attr, err := attribution.Attribute(net, m, x, []int{target})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	res := ExplainResult{Settings: o, MethodDesc: m.String(), Label: label, Target: target, Prediction: pred,
		Shape: []int{h, h, c}, Files: []string{"input.png", "input.npy", "map.png", "map.npy"}}
	if err := writeImagePNG(filepath.Join(o.Out, "input.png"), x, h, h, c); err != nil {
		return err
	}
	if err := writeNPY(filepath.Join(o.Out, "input.npy"), x, h, h, c); err != nil {
		return err
	}
	if err := writeMapPNG(filepath.Join(o.Out, "map.png"), x, attr, h, h, c); err != nil {
		return err
	}
	if err := writeNPY(filepath.Join(o.Out, "map.npy"), attr, h, h, c); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(o.Out, "explain.json"), res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "predicted %s; %s map of class %d in %s\n", pred, m, target, o.Out)
	return nil
}
