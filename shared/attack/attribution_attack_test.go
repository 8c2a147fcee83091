package attack_test

import (
	"math"
	"testing"
	"time"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
)

const eps8 = 8.0 / 255

func meanKept(res *attack.Result, f func(attack.Stats) float64) float64 {
	var s float64
	for _, im := range res.Images {
		s += f(im.Kept)
	}
	return s / float64(len(res.Images))
}

func topK(s attack.Stats) float64    { return s.TopK }
func kendall(s attack.Stats) float64 { return s.Kendall }

// checkKeptCorrect asserts that every kept image is within eps of the clean
// one, in [0,1], and classified as its label by a fresh forward pass.
func checkKeptCorrect(t *testing.T, net *model.Net, x []float32, labels []int, res *attack.Result, eps float64) {
	t.Helper()
	logits, err := net.Predict(res.Adv, model.ReLU)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range model.Argmax(logits, net.Config.NumClasses) {
		if p != labels[i] || !res.Images[i].Kept.Correct {
			t.Errorf("image %d: kept iterate predicted %d (Kept.Correct %v), label %d", i, p, res.Images[i].Kept.Correct, labels[i])
		}
	}
	for i, v := range res.Adv {
		if v < 0 || v > 1 || math.Abs(float64(v)-float64(x[i])) > eps+1e-6 {
			t.Fatalf("kept value %d = %v, clean %v: outside [0,1] or the %g-ball", i, v, x[i], eps)
		}
	}
}

// The defect this guards against: an attribution attack that does no more
// harm than noise. On a naturally trained model, IFIA on the gradient map
// must remove far more of the top-k pixels than random sign noise of the
// same radius, while every kept image stays correctly classified.
func TestIFIAOnGradientLowersTopKFarMoreThanRandomSignNoise(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 8)
	m := attribution.Gradient{Act: model.ReLU}
	start := time.Now()
	a := attack.DefaultIFIA()
	res, err := a.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("IFIA on gradient maps, 8 images x 50 steps: %v", time.Since(start))
	noise, err := attack.RandomSign{Eps: eps8, Draws: 1, Keep: attack.KeepKendall, Seed: 3}.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	ifiaTop, noiseTop := meanKept(res, topK), meanKept(noise, topK)
	ifiaTau, noiseTau := meanKept(res, kendall), meanKept(noise, kendall)
	t.Logf("top-k intersection: IFIA %.3f, random sign %.3f; Kendall: IFIA %.3f, random sign %.3f", ifiaTop, noiseTop, ifiaTau, noiseTau)
	if !(ifiaTop < noiseTop-0.25) {
		t.Errorf("IFIA mean top-k intersection %.3f is not 0.25 below random sign noise's %.3f", ifiaTop, noiseTop)
	}
	if !(ifiaTau < noiseTau-0.1) {
		t.Errorf("IFIA mean Kendall %.3f is not 0.1 below random sign noise's %.3f", ifiaTau, noiseTau)
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// The same defect test on Integrated Gradients (zero baseline, 8 Riemann
// steps to keep the test short; the evaluation uses 100): each attack step
// differentiates through all 8 path points at once.
func TestIFIAOnIntegratedGradientsLowersTopKFarMoreThanRandomSignNoise(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 6)
	m := attribution.IntegratedGradients{Steps: 8, Act: model.ReLU}
	a := attack.DefaultIFIA()
	a.Steps = 20
	start := time.Now()
	res, err := a.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("IFIA on IG-8 maps, 6 images x 20 steps: %v", time.Since(start))
	noise, err := attack.RandomSign{Eps: eps8, Draws: 1, Keep: attack.KeepKendall, Seed: 4}.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	ifiaTop, noiseTop := meanKept(res, topK), meanKept(noise, topK)
	ifiaTau, noiseTau := meanKept(res, kendall), meanKept(noise, kendall)
	t.Logf("top-k intersection: IFIA %.3f, random sign %.3f; Kendall: IFIA %.3f, random sign %.3f", ifiaTop, noiseTop, ifiaTau, noiseTau)
	if !(ifiaTop < noiseTop-0.2) {
		t.Errorf("IFIA mean top-k intersection %.3f is not 0.2 below random sign noise's %.3f", ifiaTop, noiseTop)
	}
	if !(ifiaTau < noiseTau-0.1) {
		t.Errorf("IFIA mean Kendall %.3f is not 0.1 below random sign noise's %.3f", ifiaTau, noiseTau)
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// Every iterate the attack visits lies in the eps-ball around the clean
// image and in [0,1]; the trace's Linf agrees with the images; and the kept
// iterate is the best correctly classified one of the trace.
func TestIFIAIteratesStayInBallAndKeptIterateIsBestCorrectOne(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 4)
	a := attack.DefaultIFIA()
	a.Steps, a.Step = 12, 2.0/255
	visited := 0
	a.Observe = func(r, s int, adv []float32) {
		visited++
		for i, v := range adv {
			if v < 0 || v > 1 || math.Abs(float64(v)-float64(x[i])) > a.Eps+1e-6 {
				t.Fatalf("restart %d step %d: value %d = %v, clean %v: outside [0,1] or the ball", r, s, i, v, x[i])
			}
		}
	}
	res, err := a.Attack(f.net, attribution.Gradient{}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if visited != a.Steps+1 {
		t.Errorf("observer saw %d iterates, want %d", visited, a.Steps+1)
	}
	for i, im := range res.Images {
		if len(im.Trace) != 1 || len(im.Trace[0]) != a.Steps+1 {
			t.Fatalf("image %d: trace of %d restarts, want 1 of %d iterates", i, len(im.Trace), a.Steps+1)
		}
		if tr := im.Trace[0][0]; tr.TopK != 1 || tr.Kendall != 1 || tr.Linf != 0 || !tr.Correct {
			t.Errorf("image %d: step 0 (the clean image) has stats %+v, want identity", i, tr)
		}
		best, bestStep := 1.0, -1
		for s, st := range im.Trace[0] {
			if st.Linf > a.Eps+1e-6 {
				t.Errorf("image %d step %d: Linf %v > eps", i, s, st.Linf)
			}
			if st.Correct && st.Kendall < best {
				best, bestStep = st.Kendall, s
			}
		}
		if bestStep < 0 {
			bestStep = -1
		}
		if im.Step != bestStep || im.Kept.Kendall != best {
			t.Errorf("image %d: kept step %d (Kendall %v), the best correct iterate is step %d (Kendall %v)", i, im.Step, im.Kept.Kendall, bestStep, best)
		}
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// With several restarts the attack returns, per image, the best kept
// iterate over all restarts; restart 0 starts at the clean image, so the
// worst case is never better than a single run with the same settings.
func TestIFIARestartsKeepTheWorstCase(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 4)
	a := attack.DefaultIFIA()
	a.Steps, a.Step, a.Keep = 6, 2.0/255, attack.KeepTopK
	one, err := a.Attack(f.net, attribution.Gradient{}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	a.Restarts, a.Seed = 3, 11
	three, err := a.Attack(f.net, attribution.Gradient{}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	fromRandomStart := 0
	for i, im := range three.Images {
		if len(im.Trace) != 3 {
			t.Fatalf("image %d: %d restarts in the trace, want 3", i, len(im.Trace))
		}
		if im.Trace[1][0].Linf == 0 {
			t.Errorf("image %d: restart 1 starts at the clean image", i)
		}
		best := math.Inf(1)
		for _, run := range im.Trace {
			for _, st := range run {
				if st.Correct {
					best = min(best, st.TopK)
				}
			}
		}
		if im.Kept.TopK != best {
			t.Errorf("image %d: kept top-k %v, best over the restarts %v", i, im.Kept.TopK, best)
		}
		if im.Kept.TopK > one.Images[i].Kept.TopK {
			t.Errorf("image %d: 3 restarts kept top-k %v, worse than one run's %v", i, im.Kept.TopK, one.Images[i].Kept.TopK)
		}
		if im.Restart > 0 {
			fromRandomStart++
		}
	}
	t.Logf("%d of %d images kept an iterate from a random restart", fromRandomStart, len(three.Images))
	checkKeptCorrect(t, f.net, x, y, three, a.Eps)
}

// The mass-centre attack moves the centre of the saliency map much farther
// than random sign noise of the same radius.
func TestCenterAttackMovesTheCentreMoreThanNoise(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 8)
	m := attribution.Gradient{}
	a := attack.DefaultCenterAttack()
	a.Steps = 30
	res, err := a.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	noise, err := attack.RandomSign{Eps: eps8, Draws: 1, Keep: attack.KeepCenterShift, Seed: 5}.Attack(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	shift := func(s attack.Stats) float64 { return s.CenterShift }
	got, base := meanKept(res, shift), meanKept(noise, shift)
	t.Logf("centre shift (pixels, 16x16 maps): attack %.3f, random sign %.3f", got, base)
	if !(got > 2*base && got > 0.5) {
		t.Errorf("mass-centre attack shifts the centre by %.3f px on average, random sign noise by %.3f: want > 2x and > 0.5 px", got, base)
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// The targeted manipulation brings each image's map closer to another
// image's map (lower mean squared difference, higher correlation than the
// clean map has), which random noise does not, while the class stays.
func TestManipulationMovesTheMapTowardsTheTarget(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 8)
	m := attribution.Gradient{}
	// Image i's target is the map of image (i+4) mod 8, of another class
	// where the labels allow.
	sal, _, err := attack.SaliencyMaps(f.net, m, x, y)
	if err != nil {
		t.Fatal(err)
	}
	hw := shapesSize * shapesSize
	targets := make([]float32, len(sal))
	for i := range 8 {
		copy(targets[i*hw:(i+1)*hw], sal[((i+4)%8)*hw:((i+4)%8+1)*hw])
	}
	a := attack.DefaultManipulation()
	a.Steps = 30
	res, err := a.Attack(f.net, m, x, y, targets)
	if err != nil {
		t.Fatal(err)
	}
	var before, after, corrBefore, corrAfter float64
	for i, im := range res.Images {
		if tr := im.Trace[0][0]; true {
			before += tr.TargetMSE / 8
			corrBefore += tr.TargetCorr / 8
		}
		after += im.Kept.TargetMSE / 8
		corrAfter += im.Kept.TargetCorr / 8
		if !(im.Kept.TargetMSE < im.Trace[0][0].TargetMSE) {
			t.Errorf("image %d: MSE to the target %v after the attack, %v before", i, im.Kept.TargetMSE, im.Trace[0][0].TargetMSE)
		}
	}
	t.Logf("map vs target: MSE %.3f -> %.3f, correlation %.3f -> %.3f", before, after, corrBefore, corrAfter)
	if !(after < 0.6*before && corrAfter > corrBefore+0.2) {
		t.Errorf("mean MSE to the target %.3f -> %.3f, correlation %.3f -> %.3f: want MSE down by 40%% and correlation up by 0.2", before, after, corrBefore, corrAfter)
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// The reference's evaluation protocol: the first run starts at a random
// point of the ball, and the kept iterate is the correctly classified one
// with the lowest Kendall's tau of the top-k-masked maps, which is Kendall's
// tau computed on the maps with every pixel outside the clean top-k zeroed.
func TestIFIARandomStartAndKendallTopKKeepTheReferenceIterate(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 3)
	a := attack.DefaultIFIA()
	a.Steps, a.Step, a.RandomStart, a.Keep, a.Seed = 6, 2.0/255, true, attack.KeepKendallTopK, 5
	res, err := a.Attack(f.net, attribution.Gradient{}, x, y)
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range res.Images {
		if st := im.Trace[0][0]; st.Linf == 0 || st.Linf > a.Eps+1e-6 {
			t.Errorf("image %d: the run starts at Linf %v from the clean image, want a random point in (0, eps]", i, st.Linf)
		}
		best, bestStep := math.Inf(1), -1
		for s, st := range im.Trace[0] {
			if st.Correct && st.KendallTopK < best {
				best, bestStep = st.KendallTopK, s
			}
		}
		if bestStep >= 0 && (im.Step != bestStep || im.Kept.KendallTopK != best) {
			t.Errorf("image %d: kept step %d (masked Kendall %v), the best correct iterate is step %d (%v)", i, im.Step, im.Kept.KendallTopK, bestStep, best)
		}
	}
	checkKeptCorrect(t, f.net, x, y, res, a.Eps)
}

// AttackK changes only the objective's top-k set (Chen et al. attack the top
// 200 pixels and report the top-100 intersection): AttackK = K is the attack
// without it, another AttackK moves the iterates elsewhere, and the reported
// top-k intersection is still taken at K.
func TestIFIAAttackKChangesOnlyTheObjective(t *testing.T) {
	f := shapesNet(t)
	x, y := f.firstImages(t, 3)
	a := attack.DefaultIFIA()
	a.Steps, a.K = 4, 20
	run := func(ak int) *attack.Result {
		a.AttackK = ak
		res, err := a.Attack(f.net, attribution.Gradient{}, x, y)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plain, same, wide := run(0), run(20), run(60)
	differs := false
	for i := range plain.Images {
		for s, st := range plain.Images[i].Trace[0] {
			if o := same.Images[i].Trace[0][s]; o.TopK != st.TopK || o.Kendall != st.Kendall || o.Linf != st.Linf {
				t.Fatalf("image %d step %d: AttackK = K gives %+v, no AttackK %+v", i, s, same.Images[i].Trace[0][s], st)
			}
			w := wide.Images[i].Trace[0][s]
			differs = differs || w.Kendall != st.Kendall
			// Intersections at k = 20 are multiples of 1/20.
			if r := w.TopK * 20; math.Abs(r-math.Round(r)) > 1e-9 {
				t.Errorf("image %d step %d: top-k %v is not a fraction of the 20 pixels of K", i, s, w.TopK)
			}
		}
	}
	if !differs {
		t.Error("AttackK 60 attacked exactly as AttackK 20")
	}
	a.AttackK = 16*16 + 1
	if _, err := a.Attack(f.net, attribution.Gradient{}, x, y); err == nil {
		t.Error("an attack k beyond the pixels was accepted")
	}
}
