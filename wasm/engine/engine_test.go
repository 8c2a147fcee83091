package engine

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/wasm/protocol"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
)

func newEngine(t *testing.T) *Engine {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return New(b)
}

func shapesImage(t *testing.T, i int) ([]float32, int) {
	t.Helper()
	d, err := data.ShapesAt(data.ShapesConfig{N: 100, Seed: 1, Split: "test"}, []int{i})
	if err != nil {
		t.Fatal(err)
	}
	return d.Image(0), d.Labels[0]
}

func TestCheckpointRoundTripKeepsPredictionsAndCard(t *testing.T) {
	e := newEngine(t)
	orig, err := e.AddUntrained("WRN-10-1", 3)
	if err != nil {
		t.Fatal(err)
	}
	meta := checkpoint.Meta{Method: "art", Dataset: "shapes", Activation: "relu",
		ClassNames: data.ShapesClasses(), Metrics: map[string]float64{"clean_accuracy": 0.5},
		Created: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ck, err := orig.Net.Checkpoint(meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	loaded, err := e.LoadCheckpoint("art.ckpt", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	c := loaded.Card
	if c.Title != "WRN-10-1 · art · shapes" || c.Untrained || c.Method != "art" || c.Created != "2026-03-01" ||
		c.Metrics["clean_accuracy"] != 0.5 || len(c.Classes) != 10 || c.Classes[3] != "star" || c.Bytes != buf.Len() {
		t.Errorf("card = %+v", c)
	}
	img, _ := shapesImage(t, 0)
	p0, err := orig.Predict(img)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := loaded.Predict(img)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range p0 {
		if p0[i] != p1[i] {
			t.Fatalf("class %d: probability %g before the round trip, %g after", i, p0[i], p1[i])
		}
		sum += float64(p1[i])
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("probabilities sum to %g", sum)
	}
	if _, err := e.LoadCheckpoint("broken.ckpt", buf.Bytes()[:buf.Len()/2]); err == nil {
		t.Error("a truncated checkpoint loaded")
	}
}

func TestRejectsImagesOfTheWrongShapeOrRange(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(make([]float32, 16*16*3)); err == nil {
		t.Error("a 16x16 image was accepted by a 32x32 model")
	}
	img, _ := shapesImage(t, 0)
	img[5] = 1.5
	if _, err := m.Predict(img); err == nil {
		t.Error("a pixel of 1.5 was accepted")
	}
}

func TestAttackStaysInTheBallAndMovesTheMapOffItsTopK(t *testing.T) {
	e := newEngine(t)
	for _, seed := range []uint64{1, 2} {
		if _, err := e.AddUntrained("WRN-10-1", seed); err != nil {
			t.Fatal(err)
		}
	}
	img, _ := shapesImage(t, 4)
	cfg := protocol.Attack{Method: protocol.Method{Name: protocol.IntegratedGradient, Steps: 4},
		Eps: 8, StepSize: 2, Steps: 4, K: 100, Beta: 10}
	var steps []protocol.Step
	sum, err := e.Attack(context.Background(), []string{"untrained-1", "untrained-2"}, img, cfg, func(s protocol.Step) {
		steps = append(steps, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2*(cfg.Steps+1) || len(sum) != 2 {
		t.Fatalf("%d steps and %d summaries, want %d and 2", len(steps), len(sum), 2*(cfg.Steps+1))
	}
	// Steps alternate between the models after the two originals.
	for i, s := range steps {
		wantModel, wantStep := []string{"untrained-1", "untrained-2"}[i%2], i/2
		if s.Model != wantModel || s.Step != wantStep {
			t.Fatalf("emit %d is step %d of %s, want step %d of %s", i, s.Step, s.Model, wantStep, wantModel)
		}
	}
	eps := cfg.Eps/255 + 1e-6
	for _, s := range steps {
		for i, v := range s.Image {
			if v < 0 || v > 1 || math.Abs(float64(v-img[i])) > eps {
				t.Fatalf("%s step %d: pixel %d = %g, original %g, eps %g", s.Model, s.Step, i, v, img[i], cfg.Eps/255)
			}
		}
		var total float64
		for _, v := range s.Map {
			total += float64(v)
		}
		if math.Abs(total-1024) > 0.5 {
			t.Errorf("%s step %d: saliency sums to %g, want 1024", s.Model, s.Step, total)
		}
		if s.Step == 0 && (s.TopK != 1 || s.Kendall != 1 || !s.Kept) {
			t.Errorf("%s original: topk %v kendall %v kept %v, want 1 1 true", s.Model, s.TopK, s.Kendall, s.Kept)
		}
		if !(s.TopK >= 0 && s.TopK <= 1) || !(s.Kendall >= -1 && s.Kendall <= 1) {
			t.Errorf("%s step %d: topk %v kendall %v out of range", s.Model, s.Step, s.TopK, s.Kendall)
		}
	}
	// The attack must actually change the explanation: the last iterate of
	// each model shares fewer top pixels with the original than all of them.
	for _, s := range steps[len(steps)-2:] {
		if s.TopK >= 0.95 {
			t.Errorf("%s after %d steps: top-k intersection %v, the attack did not move the map", s.Model, s.Step, s.TopK)
		}
		t.Logf("%s step %d: topk %.3f kendall %.3f pred %d kept %v (%.0f ms)", s.Model, s.Step, s.TopK, s.Kendall, s.Pred, s.Kept, s.Millis)
	}
	for _, s := range sum {
		if s.StepsRun != cfg.Steps || s.Stopped {
			t.Errorf("summary %+v", s)
		}
		t.Logf("summary %+v", s)
	}
}

func TestAttackStopsWhenCancelled(t *testing.T) {
	e := newEngine(t)
	if _, err := e.AddUntrained("WRN-10-1", 1); err != nil {
		t.Fatal(err)
	}
	img, _ := shapesImage(t, 1)
	cfg := protocol.Attack{Method: protocol.Method{Name: protocol.Gradient}, Eps: 8, StepSize: 1, Steps: 50, K: 50, Beta: 10}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	sum, err := e.Attack(ctx, []string{"untrained-1"}, img, cfg, func(s protocol.Step) {
		n++
		if s.Step == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || sum[0].StepsRun != 2 || !sum[0].Stopped {
		t.Errorf("emitted %d steps, summary %+v; want 3 emits, 2 steps run, stopped", n, sum[0])
	}
}

func TestAttributeMethodsGiveMapsOfTheImageShape(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := shapesImage(t, 2)
	for _, meth := range []protocol.Method{
		{Name: protocol.Gradient}, {Name: protocol.IntegratedGradient, Steps: 8},
		{Name: protocol.SmoothGrad, Samples: 4, Sigma: 0.15}, {Name: protocol.GradCAM},
	} {
		mp, err := m.Attribute(img, 0, meth)
		if err != nil {
			t.Fatalf("%s: %v", meth, err)
		}
		if len(mp) != len(img) {
			t.Fatalf("%s: %d values, want %d", meth, len(mp), len(img))
		}
		nonzero := 0
		for _, v := range mp {
			if math.IsNaN(float64(v)) {
				t.Fatalf("%s: NaN in the map", meth)
			}
			if v != 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Errorf("%s: all-zero map", meth)
		}
	}
	if _, err := m.Attribute(img, 0, protocol.Method{Name: "lime"}); err == nil {
		t.Error("an unknown method was accepted")
	}
	_ = model.ReLU
}

// The attack must do better than chance: its iterate shares fewer top-k
// pixels with the original map than a random ±eps sign perturbation does.
func TestAttackBeatsRandomSignNoise(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := shapesImage(t, 7)
	cfg := protocol.Attack{Method: protocol.Method{Name: protocol.Gradient}, Eps: 8, StepSize: 2, Steps: 6, K: 100, Beta: 10}
	run, _, err := m.NewAttack(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var last protocol.Step
	for !run.Done() {
		if last, err = run.Next(); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var worst float64
	for trial := range 5 {
		noisy := make([]float32, len(img))
		for i, v := range img {
			d := float32(cfg.Eps / 255)
			if rng.IntN(2) == 0 {
				d = -d
			}
			noisy[i] = min(1, max(0, v+d))
		}
		r2, _, err := m.NewAttack(noisy, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ti, err := metric.TopKIntersection(run.map0, r2.map0, cfg.K)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("random sign noise %d: top-k intersection %.3f", trial, ti)
		worst = max(worst, 1-ti)
	}
	t.Logf("attack: top-k intersection %.3f after %d steps", last.TopK, last.Step)
	if float64(last.TopK) >= 1-worst {
		t.Errorf("attack reached top-k intersection %.3f; random noise of the same size reached %.3f", last.TopK, 1-worst)
	}
}

// Driving the shared attack one step at a time must give the trace of the
// native evaluation's attack.IFIA.Attack on the same image.
func TestStepwiseAttackMatchesTheSharedIFIA(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := shapesImage(t, 5)
	cfg := protocol.Attack{Method: protocol.Method{Name: protocol.IntegratedGradient, Steps: 4}, Eps: 8, StepSize: 2, Steps: 3, K: 100, Beta: 10}
	run, s0, err := m.NewAttack(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := []protocol.Step{s0}
	for !run.Done() {
		s, err := run.Next()
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	res, err := run.ifia().Attack(m.Net, run.eval, img, []int{s0.Pred})
	if err != nil {
		t.Fatal(err)
	}
	trace := res.Images[0].Trace[0]
	if len(trace) != len(steps) {
		t.Fatalf("shared trace has %d iterates, the demo %d", len(trace), len(steps))
	}
	for i, st := range trace {
		if math.Abs(st.TopK-float64(steps[i].TopK)) > 1e-6 || math.Abs(st.Kendall-float64(steps[i].Kendall)) > 1e-4 || st.Pred != steps[i].Pred {
			t.Errorf("iterate %d: shared top-k %.4f tau %.4f pred %d; demo %.4f %.4f %d", i, st.TopK, st.Kendall, st.Pred,
				float64(steps[i].TopK), float64(steps[i].Kendall), steps[i].Pred)
		}
	}
	if max(res.Images[0].Step, 0) != run.Best().Step { // -1 there is the clean image
		t.Errorf("kept iterate: shared step %d, demo step %d", res.Images[0].Step, run.Best().Step)
	}
}

func TestCheckCheckpointRejectsWhatLoadCheckpointRejects(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 4)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := m.Net.Checkpoint(checkpoint.Meta{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	if err := CheckCheckpoint(buf.Bytes()); err != nil {
		t.Errorf("a good checkpoint: %v", err)
	}
	ck.Tensors = ck.Tensors[1:] // a missing tensor
	buf.Reset()
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	if err := CheckCheckpoint(buf.Bytes()); err == nil {
		t.Error("a checkpoint missing a tensor passed")
	}
	if err := CheckCheckpoint([]byte("junk")); err == nil {
		t.Error("junk passed")
	}
}

// The browser's checkpoint check is the native loader's: metadata asking
// for a huge input or network over valid weights, or a weight that is not
// finite, is refused, and LoadCheckpoint refuses the same files.
func TestCheckCheckpointRefusesHostileMetadataAndNonFiniteWeights(t *testing.T) {
	e := newEngine(t)
	m, err := e.AddUntrained("WRN-10-1", 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(*checkpoint.Checkpoint)
		want string
	}{
		{func(ck *checkpoint.Checkpoint) { ck.Meta.Arch.InputSize = 100000 }, "input size 100000 is over the limit"},
		{func(ck *checkpoint.Checkpoint) {
			ck.Meta.Arch.Name, ck.Meta.Arch.Depth = "WRN-6000000004-1", 6000000004
		}, "over the limit"},
		{func(ck *checkpoint.Checkpoint) { ck.Meta.Arch.Name, ck.Meta.Arch.Depth = "WRN-994-1", 994 }, "it needs 4959 tensors"},
		{func(ck *checkpoint.Checkpoint) {
			ck.Tensors[3] = checkpoint.NewFloat32(ck.Tensors[3].Name, ck.Tensors[3].Shape, nanLike(ck.Tensors[3]))
		}, "the weights are not finite"},
	} {
		ck, err := m.Net.Checkpoint(checkpoint.Meta{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tc.edit(ck)
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, ck); err != nil {
			t.Fatal(err)
		}
		if err := CheckCheckpoint(buf.Bytes()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckCheckpoint: %v, want an error containing %q", err, tc.want)
		}
		if _, err := e.LoadCheckpoint("hostile", buf.Bytes()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadCheckpoint: %v, want an error containing %q", err, tc.want)
		}
	}
}

// nanLike is a tensor's values with the first one NaN.
func nanLike(t *checkpoint.Tensor) []float32 {
	v, _ := t.Float32s()
	v = append([]float32(nil), v...)
	v[0] = float32(math.NaN())
	return v
}

func TestAttackRunsOnEveryMethod(t *testing.T) {
	e := newEngine(t)
	if _, err := e.AddUntrained("WRN-10-1", 1); err != nil {
		t.Fatal(err)
	}
	img, _ := shapesImage(t, 3)
	for _, meth := range []protocol.Method{
		{Name: protocol.Gradient}, {Name: protocol.IntegratedGradient, Steps: 2},
		{Name: protocol.SmoothGrad, Samples: 2, Sigma: 0.1}, {Name: protocol.GradCAM},
	} {
		cfg := protocol.Attack{Method: meth, Eps: 8, StepSize: 2, Steps: 2, K: 100, Beta: 10}
		var last protocol.Step
		if _, err := e.Attack(context.Background(), []string{"untrained-1"}, img, cfg, func(s protocol.Step) { last = s }); err != nil {
			t.Fatalf("%s: %v", meth, err)
		}
		if last.Step != 2 || !(last.TopK >= 0 && last.TopK <= 1) {
			t.Errorf("%s: last step %d, top-k %v", meth, last.Step, last.TopK)
		}
		moved := false
		for i := range img {
			moved = moved || last.Image[i] != img[i]
		}
		if !moved {
			t.Errorf("%s: the attack did not change the image", meth)
		}
	}
}

// An MNIST-CNN checkpoint of 28x28 grey images, shipped as float16 like the
// site's, loads in the engine and gets predictions, one-channel maps of
// every method and an attack.
func TestMNISTCNNCheckpointRunsInTheEngine(t *testing.T) {
	e := newEngine(t)
	cfg, err := model.ParseArch("MNIST-CNN", 10, 28, 1)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet(e.Backend, cfg, cfg.InitValues(2))
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	ck, err := net.Checkpoint(checkpoint.Meta{Method: "ig-norm", Dataset: "mnist", ClassNames: classes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck, checkpoint.WithFloat16()); err != nil {
		t.Fatal(err)
	}
	m, err := e.LoadCheckpoint("mnist.ckpt", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Card; c.Title != "MNIST-CNN · ig-norm · mnist" || c.InputSize != 28 || c.Channels != 1 || c.Classes[7] != "7" {
		t.Errorf("card %+v", c)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	img := make([]float32, 28*28)
	for i := range img {
		img[i] = rng.Float32()
	}
	if p, err := m.Predict(img); err != nil || len(p) != 10 {
		t.Fatalf("predict: %v, %v", p, err)
	}
	for _, meth := range []protocol.Method{
		{Name: protocol.Gradient}, {Name: protocol.IntegratedGradient, Steps: 4},
		{Name: protocol.SmoothGrad, Samples: 2, Sigma: 0.1}, {Name: protocol.GradCAM},
	} {
		mp, err := m.Attribute(img, 3, meth)
		if err != nil || len(mp) != len(img) {
			t.Errorf("%s: %d values, %v; want %d", meth, len(mp), err, len(img))
		}
	}
	cfgA := protocol.Attack{Method: protocol.Method{Name: protocol.Gradient}, Eps: 76, StepSize: 3, Steps: 2, K: 100, Beta: 10}
	var last protocol.Step
	if _, err := e.Attack(context.Background(), []string{"mnist.ckpt"}, img, cfgA, func(s protocol.Step) { last = s }); err != nil {
		t.Fatal(err)
	}
	if last.Step != 2 || len(last.Image) != len(img) || len(last.Map) != len(img) {
		t.Errorf("attack: step %d, %d image and %d map values", last.Step, len(last.Image), len(last.Map))
	}
}
