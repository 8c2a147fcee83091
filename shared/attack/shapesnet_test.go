package attack_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/train"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
)

// The attack tests share one naturally trained WRN-10-1 on four classes of
// the built-in shapes data (square, star, plus, ring) at 16x16 without
// clutter: small enough to train in about 15 s on two cores, and accurate
// enough that attacks have correctly classified images to work on.
const (
	shapesSize  = 16
	shapesSteps = 400
)

var shapesClassesUsed = []int{1, 3, 4, 5}

type shapesFixture struct {
	net    *model.Net
	test   *data.Dataset
	acc    float64
	err    error
	images []float32 // correctly classified test images
	labels []int
}

var (
	shapesOnce sync.Once
	shapes     shapesFixture
)

// relabel keeps the images of the chosen classes, relabelled 0..len-1.
func relabel(d *data.Dataset, classes []int) *data.Dataset {
	to := map[int]int{}
	for i, c := range classes {
		to[c] = i
	}
	var idx []int
	for i, l := range d.Labels {
		if _, ok := to[l]; ok {
			idx = append(idx, i)
		}
	}
	s := d.Subset(idx)
	for i, l := range s.Labels {
		s.Labels[i] = to[l]
	}
	return s
}

func trainShapesNet() shapesFixture {
	var f shapesFixture
	cfg, err := model.ParseArch("WRN-10-1", len(shapesClassesUsed), shapesSize, 3)
	if err != nil {
		return shapesFixture{err: err}
	}
	b, err := compute.New()
	if err != nil {
		return shapesFixture{err: err}
	}
	if f.net, err = model.NewNet(b, cfg, cfg.InitValues(1)); err != nil {
		return shapesFixture{err: err}
	}
	tr, err := train.NewTrainer(f.net, train.DefaultConfig(train.Natural))
	if err != nil {
		return shapesFixture{err: err}
	}
	all, err := data.Shapes(data.ShapesConfig{N: 4000, Size: shapesSize, Seed: 1, Clutter: data.NoClutter})
	if err != nil {
		return shapesFixture{err: err}
	}
	allTest, err := data.Shapes(data.ShapesConfig{N: 400, Size: shapesSize, Seed: 1, Split: "test", Clutter: data.NoClutter})
	if err != nil {
		return shapesFixture{err: err}
	}
	ds := relabel(all, shapesClassesUsed)
	f.test = relabel(allTest, shapesClassesUsed)
	rng := rand.New(rand.NewPCG(1, 2))
	zeros := make([]float32, 32*ds.ImageSize())
	for step := range shapesSteps {
		x, y := ds.Batch(rng.Perm(ds.Len())[:32], nil, nil)
		lr := 0.2
		if step >= 300 {
			lr = 0.04
		}
		if _, err := tr.Step(x, y, lr, zeros); err != nil {
			return shapesFixture{err: err}
		}
	}
	logits, err := f.net.Predict(f.test.Images, model.ReLU)
	if err != nil {
		return shapesFixture{err: err}
	}
	correct := 0
	for i, p := range model.Argmax(logits, len(shapesClassesUsed)) {
		if p == f.test.Labels[i] {
			correct++
			f.images = append(f.images, f.test.Image(i)...)
			f.labels = append(f.labels, p)
		}
	}
	f.acc = float64(correct) / float64(f.test.Len())
	return f
}

// shapesNet returns the trained model and its correctly classified test
// images, failing the test if training went wrong or the model is not well
// above chance (25%).
func shapesNet(t *testing.T) shapesFixture {
	t.Helper()
	shapesOnce.Do(func() {
		shapes = trainShapesNet()
		t.Logf("shapes model: %.1f%% test accuracy on %d images", 100*shapes.acc, shapes.test.Len())
	})
	if shapes.err != nil {
		t.Fatal(shapes.err)
	}
	if shapes.acc < 0.6 {
		t.Fatalf("the shapes model reached %.1f%% test accuracy (chance 25%%); want >= 60%%", 100*shapes.acc)
	}
	return shapes
}

// firstImages returns the first n correctly classified test images.
func (f shapesFixture) firstImages(t *testing.T, n int) ([]float32, []int) {
	t.Helper()
	if len(f.labels) < n {
		t.Fatalf("only %d correctly classified test images, want %d", len(f.labels), n)
	}
	per := shapesSize * shapesSize * 3
	return f.images[:n*per], f.labels[:n]
}
