package attack_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/model"
)

func accuracy(t *testing.T, net *model.Net, x []float32, labels []int) float64 {
	t.Helper()
	logits, err := net.Predict(x, model.ReLU)
	if err != nil {
		t.Fatal(err)
	}
	c := 0
	for i, p := range model.Argmax(logits, net.Config.NumClasses) {
		if p == labels[i] {
			c++
		}
	}
	return float64(c) / float64(len(labels))
}

func checkInBall(t *testing.T, name string, x, adv []float32, eps float64) {
	t.Helper()
	for i, v := range adv {
		if v < 0 || v > 1 || math.Abs(float64(v)-float64(x[i])) > eps+1e-6 {
			t.Fatalf("%s: value %d = %v, clean %v: outside [0,1] or the %g-ball", name, i, v, x[i], eps)
		}
	}
}

// On an undefended model, the gradient-free SPSA and white-box PGD must
// agree roughly: both bring the accuracy of correctly classified images far
// down at eps 8/255. SPSA runs with fewer iterations than its default to
// keep the test short; that can only make it weaker.
func TestSPSAAndPGDBothBreakAnUndefendedModel(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 8)
	pgd := attack.PGD{Norm: attack.LInf, Eps: eps8, Step: 2.0 / 255, Steps: 20, RandomStart: true}
	advPGD, err := pgd.Attack(f.net, x, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := attack.DefaultSPSA()
	s.Iterations, s.Seed = 30, 2
	start := time.Now()
	advSPSA, err := s.Attack(f.net, x, y)
	if err != nil {
		t.Fatal(err)
	}
	accPGD, accSPSA := accuracy(t, f.net, advPGD, y), accuracy(t, f.net, advSPSA, y)
	t.Logf("accuracy on 8 clean-correct images: PGD-20 %.3f, SPSA (%d iterations x %d samples, %v) %.3f", accPGD, s.Iterations, s.Samples, time.Since(start), accSPSA)
	if accPGD > 0.25 || accSPSA > 0.5 {
		t.Errorf("accuracy under attack: PGD %.3f (want <= 0.25), SPSA %.3f (want <= 0.5)", accPGD, accSPSA)
	}
	if accSPSA < accPGD-0.25 {
		t.Errorf("SPSA (%.3f) beats PGD (%.3f) by a wide margin: PGD's gradients look masked", accSPSA, accPGD)
	}
	checkInBall(t, "SPSA", x, advSPSA, eps8)
}

// An SPSA run that cannot move (eps 0) leaves the images and the accuracy
// unchanged, and a fixed seed reproduces the same images.
func TestSPSAIsDeterministicAndRespectsEpsilon(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 2)
	s := attack.SPSA{Eps: 0, Iterations: 2, Samples: 8, LR: 0.01, Delta: 0.01}
	adv, err := s.Attack(f.net, x, y)
	if err != nil {
		t.Fatal(err)
	}
	checkInBall(t, "SPSA eps=0", x, adv, 0)
	s.Eps, s.Seed = 2.0/255, 9
	a1, err := s.Attack(f.net, x, y)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.Attack(f.net, x, y)
	if err != nil {
		t.Fatal(err)
	}
	moved := false
	for i := range a1 {
		if a1[i] != a2[i] {
			t.Fatalf("value %d differs between two runs with one seed: %v, %v", i, a1[i], a2[i])
		}
		moved = moved || a1[i] != x[i]
	}
	if !moved {
		t.Error("SPSA with eps 2/255 did not move any value")
	}
	checkInBall(t, "SPSA eps=2/255", x, a1, s.Eps)
	if _, err := (attack.SPSA{Eps: 0.1, Iterations: 1, Samples: 3, LR: 0.01, Delta: 0.01}).Attack(f.net, x, y); err == nil {
		t.Error("no error for an odd number of samples")
	}
}

// Transform with no rotation and no shift is the identity; a whole-pixel
// shift moves every pixel and fills black; a quarter turn of a square image
// maps pixel (i, j) to (n-1-j, i) (counter-clockwise on screen).
func TestSpatialTransformMatchesHandComputedMaps(t *testing.T) {
	const n, c = 5, 2
	rng := rand.New(rand.NewPCG(1, 1))
	img := make([]float32, n*n*c)
	for i := range img {
		img[i] = rng.Float32()
	}
	at := func(v []float32, i, j, ch int) float32 { return v[(i*n+j)*c+ch] }
	id := attack.Transform(img, n, n, c, attack.SpatialTransform{})
	for i := range img {
		if id[i] != img[i] {
			t.Fatalf("identity changed value %d: %v -> %v", i, img[i], id[i])
		}
	}
	sh := attack.Transform(img, n, n, c, attack.SpatialTransform{DX: 2, DY: -1})
	rot := attack.Transform(img, n, n, c, attack.SpatialTransform{Angle: 90})
	for i := range n {
		for j := range n {
			for ch := range c {
				want := float32(0)
				if si, sj := i+1, j-2; si < n && sj >= 0 {
					want = at(img, si, sj, ch)
				}
				if got := at(sh, i, j, ch); got != want {
					t.Errorf("shift (2, -1): (%d,%d,%d) = %v, want %v", i, j, ch, got, want)
				}
				// Counter-clockwise on screen: the top-right corner goes to
				// the top-left, so output (i, j) comes from (j, n-1-i).
				if got, want := at(rot, i, j, ch), at(img, j, n-1-i, ch); math.Abs(float64(got-want)) > 1e-5 {
					t.Errorf("quarter turn: (%d,%d,%d) = %v, want %v", i, j, ch, got, want)
				}
			}
		}
	}
	if g := (attack.DefaultSpatial()).Grid(); len(g) != 31*5*5 {
		t.Errorf("default grid has %d transformations, want 775", len(g))
	}
}

// The worst case over Engstrom et al.'s grid of rotations (+-30 degrees)
// and translations (+-3 px) fools a model trained without augmentation on a
// large share of the images; the kept transformation is in the grid and,
// for fooled images, really misclassified.
func TestSpatialGridAttackFoolsAnUnaugmentedModel(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 8)
	a := attack.DefaultSpatial()
	res, err := a.Attack(f.net, x, y)
	if err != nil {
		t.Fatal(err)
	}
	acc := accuracy(t, f.net, res.Adv, y)
	fooled := 0
	for i, ok := range res.Fooled {
		if ok {
			fooled++
		}
		w := res.Worst[i]
		if math.Abs(w.Angle) > 30 || math.Abs(w.DX) > 3 || math.Abs(w.DY) > 3 {
			t.Errorf("image %d: worst transformation %+v outside the grid", i, w)
		}
	}
	t.Logf("spatial grid (31 rotations x 5x5 shifts): accuracy %.3f, %d of 8 fooled", acc, fooled)
	if want := 1 - float64(fooled)/8; math.Abs(acc-want) > 1e-9 {
		t.Errorf("accuracy on the kept images %.3f, but %d of 8 reported fooled", acc, fooled)
	}
	if fooled < 3 {
		t.Errorf("only %d of 8 images fooled by the spatial grid", fooled)
	}
}
