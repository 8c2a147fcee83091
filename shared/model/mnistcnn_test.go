package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Madry et al.'s MNIST model has 3,274,634 parameters: conv1 5*5*1*32+32,
// conv2 5*5*32*64+64, fc1 3136*1024+1024, fc2 1024*10+10.
func TestMNISTCNNParameterCountMatchesMadrysModel(t *testing.T) {
	c, err := ParseArch("MNIST-CNN", 10, 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.NumParams(), 832+51_264+3_212_288+10_250; got != want {
		t.Errorf("%d parameters, want %d", got, want)
	}
	if c.Name() != "MNIST-CNN" || c.Mean[0] != 0 || c.Std[0] != 1 {
		t.Errorf("%s, normalisation %v/%v: want MNIST-CNN taking pixels as they are (0/1)", c.Name(), c.Mean, c.Std)
	}
	for _, name := range []string{"mnist-cnn", "MNISTCNN"} {
		if back, err := ParseArch(name, 10, 28, 1); err != nil || back.Family != FamilyMNISTCNN {
			t.Errorf("ParseArch(%q) = %+v, %v", name, back, err)
		}
	}
	for _, size := range []int{30, 4} {
		if _, err := ParseArch("MNIST-CNN", 10, size, 1); err == nil || !strings.Contains(err.Error(), "multiple of 4") {
			t.Errorf("input size %d: %v, want an error about multiples of 4", size, err)
		}
	}
}

// The initial values are tf.truncated_normal(stddev=0.1) and biases 0.1: no
// weight beyond 0.2, and the standard deviation of a normal truncated at two
// standard deviations, 0.1 * 0.8796.
func TestMNISTCNNInitialisationIsMadrys(t *testing.T) {
	c, _ := ParseArch("MNIST-CNN", 10, 28, 1)
	vals := c.InitValues(3)
	for _, b := range []string{"/conv1/bias", "/conv2/bias", "/fc1/bias", "/fc2/bias"} {
		for _, v := range vals[b] {
			if v != 0.1 {
				t.Fatalf("%s holds %v, want 0.1", b, v)
			}
		}
	}
	w := vals["/fc1/weights"]
	var sum, sq float64
	for _, v := range w {
		if math.Abs(float64(v)) > 0.2 {
			t.Fatalf("fc1 weight %v beyond two standard deviations", v)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(w))
	if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-0.08796) > 0.0005 {
		t.Errorf("fc1 weights std %.5f, want 0.08796", std)
	}
}

// bruteMNISTCNN is the reference model.py forward pass written out in
// loops, on one h x w x c image with TensorFlow's layouts: SAME convolutions
// (kernel [5,5,cin,cout], zero padding 2), 2x2 max pools of stride 2,
// flattening in (row, column, channel) order.
func bruteMNISTCNN(vals map[string][]float32, img []float64, size, cin, classes int, act func(float64) float64) []float64 {
	conv := func(x []float64, s, ci, co int, w, b []float32) []float64 {
		out := make([]float64, s*s*co)
		for y := range s {
			for xx := range s {
				for o := range co {
					v := float64(b[o])
					for dy := range 5 {
						for dx := range 5 {
							iy, ix := y+dy-2, xx+dx-2
							if iy < 0 || ix < 0 || iy >= s || ix >= s {
								continue
							}
							for i := range ci {
								v += x[(iy*s+ix)*ci+i] * float64(w[((dy*5+dx)*ci+i)*co+o])
							}
						}
					}
					out[(y*s+xx)*co+o] = act(v)
				}
			}
		}
		return out
	}
	pool := func(x []float64, s, ch int) []float64 {
		h := s / 2
		out := make([]float64, h*h*ch)
		for y := range h {
			for xx := range h {
				for c := range ch {
					m := math.Inf(-1)
					for dy := range 2 {
						for dx := range 2 {
							m = math.Max(m, x[((2*y+dy)*s+2*xx+dx)*ch+c])
						}
					}
					out[(y*h+xx)*ch+c] = m
				}
			}
		}
		return out
	}
	dense := func(x []float64, w, b []float32, out int, f func(float64) float64) []float64 {
		y := make([]float64, out)
		for o := range out {
			v := float64(b[o])
			for i, xi := range x {
				v += xi * float64(w[i*out+o])
			}
			y[o] = f(v)
		}
		return y
	}
	h := pool(conv(img, size, cin, 32, vals["/conv1/weights"], vals["/conv1/bias"]), size, 32)
	h = pool(conv(h, size/2, 32, 64, vals["/conv2/weights"], vals["/conv2/bias"]), size/2, 64)
	h = dense(h, vals["/fc1/weights"], vals["/fc1/bias"], 1024, act)
	return dense(h, vals["/fc2/weights"], vals["/fc2/bias"], classes, func(v float64) float64 { return v })
}

func TestMNISTCNNMatchesTheReferenceLayersWrittenOut(t *testing.T) {
	const size, classes = 8, 3
	cfg, err := ParseArch("MNIST-CNN", classes, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.InitValues(5)
	rng := rand.New(rand.NewPCG(4, 4))
	for _, b := range []string{"/conv1/bias", "/conv2/bias", "/fc1/bias", "/fc2/bias"} {
		for i := range vals[b] {
			vals[b][i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	n, err := NewNet(testBackend(t), cfg, vals)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float64, 2*size*size)
	for i := range img {
		img[i] = rng.Float64()
	}
	for _, tc := range []struct {
		p   Pass
		act func(float64) float64
	}{
		{Pass{Act: ReLU}, func(v float64) float64 { return math.Max(v, 0) }},
		{Pass{Act: Softplus(3)}, func(v float64) float64 { return math.Log1p(math.Exp(3*v)) / 3 }},
	} {
		e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
			return n.Logits(x, tc.p)
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(tensors.FromFlatDataAndDimensions(img, 2, size, size, 1))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float64](out[0])
		for i := range 2 {
			want := bruteMNISTCNN(vals, img[i*size*size:(i+1)*size*size], size, 1, classes, tc.act)
			for j, w := range want {
				if g := got[i*classes+j]; math.Abs(g-w) > 1e-9*max(1, math.Abs(w)) {
					t.Errorf("%s: image %d logit %d = %.12g, reference %.12g", tc.p.Act, i, j, g, w)
				}
			}
		}
	}
}

// A checkpoint of an MNIST-CNN loads back into the same network, from its
// metadata alone, and computes the same logits (what every command and the
// browser engine rely on).
func TestMNISTCNNCheckpointRoundTrip(t *testing.T) {
	cfg, _ := ParseArch("MNIST-CNN", 10, 28, 1)
	n, err := NewNet(testBackend(t), cfg, cfg.InitValues(9))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := n.Checkpoint(checkpoint.Meta{Method: "natural"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadNet(n.Backend, ck)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.Family != FamilyMNISTCNN || back.Config.Channels != 1 || back.Config.InputSize != 28 {
		t.Fatalf("loaded %s %dx%dx%d", back.Config.Name(), back.Config.InputSize, back.Config.InputSize, back.Config.Channels)
	}
	x := toF32(randImages(6, 1, 28)[:2*28*28])
	a, err := n.Predict(x, ReLU)
	if err != nil {
		t.Fatal(err)
	}
	b, err := back.Predict(x, ReLU)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v before, %v after the round trip", i, a[i], b[i])
		}
	}
}

// The MNIST-CNN's CAM is not defined (no global average pooling); its
// Grad-CAM features are the pooled maps of the second convolution.
func TestMNISTCNNFeatures(t *testing.T) {
	cfg, _ := ParseArch("MNIST-CNN", 10, 28, 1)
	if cfg.HasGAPHead() {
		t.Error("the MNIST-CNN claims a global-average-pooling head")
	}
	n, err := NewNet(testBackend(t), cfg, cfg.InitValues(1))
	if err != nil {
		t.Fatal(err)
	}
	e, err := gmodel.NewExec(n.Backend, n.Store, func(scope *gmodel.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		return n.Forward(x, Pass{Act: ReLU})
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Call(tensors.FromFlatDataAndDimensions(make([]float32, 3*28*28), 3, 28, 28, 1))
	if err != nil {
		t.Fatal(err)
	}
	if d := out[0].Shape().Dimensions; d[0] != 3 || d[1] != 7 || d[2] != 7 || d[3] != 64 {
		t.Errorf("features %v, want [3 7 7 64]", d)
	}
	if d := out[1].Shape().Dimensions; d[0] != 3 || d[1] != 10 {
		t.Errorf("logits %v, want [3 10]", d)
	}
}
