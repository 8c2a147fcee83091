package attack_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/metric"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The graph centre of mass equals metric.CenterOfMass, the measure the
// mass-centre attack is scored with.
func TestCenterOfMassGraphMatchesMetric(t *testing.T) {
	const n, h, w = 3, 5, 7
	rng := rand.New(rand.NewPCG(3, 4))
	maps := make([]float32, n*h*w)
	for i := range maps {
		maps[i] = rng.Float32() * rng.Float32()
	}
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	out := graph.MustExecOnce(b, attack.CenterOfMass, tensors.FromFlatDataAndDimensions(maps, n, h, w))
	got := tensors.MustCopyFlatData[float32](out)
	for i := range n {
		r, c, err := metric.CenterOfMass(maps[i*h*w:(i+1)*h*w], h, w)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got[2*i])-r) > 1e-5 || math.Abs(float64(got[2*i+1])-c) > 1e-5 {
			t.Errorf("map %d: graph centre (%v, %v), metric (%v, %v)", i, got[2*i], got[2*i+1], r, c)
		}
	}
}

// WithActivation switches every attribution method of the project to the
// softplus model and keeps its other settings; an unknown method is an
// error, not a silent ReLU attack with zero second derivatives.
func TestWithActivationSwitchesEveryMethod(t *testing.T) {
	sp := model.Softplus(50)
	for _, m := range []attribution.Method{
		attribution.Gradient{}, attribution.InputXGradient{},
		attribution.IntegratedGradients{Steps: 7}, attribution.SmoothGrad{Samples: 3, Sigma: 0.1},
		attribution.GradientSHAP{Samples: 2}, attribution.CAM{}, attribution.GradCAM{},
	} {
		got, err := attack.WithActivation(m, sp)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(m.String(), model.ReLU.String(), sp.String(), 1)
		if got.String() != want || got.String() == m.String() {
			t.Errorf("WithActivation(%s) = %s, want %s", m, got, want)
		}
	}
	if _, err := attack.WithActivation(unknownMethod{}, sp); err == nil {
		t.Error("no error for an unknown method")
	}
}

type unknownMethod struct{ attribution.Gradient }

// The random sign baseline moves every value by exactly eps, up or down,
// except where [0,1] clips it, and both signs occur about equally often.
func TestRandomSignPerturbsEveryValueByEps(t *testing.T) {
	const eps = 0.1
	x := make([]float32, 4000)
	for i := range x {
		x[i] = float32(i%100) / 99
	}
	adv := attack.RandomSign{Eps: eps}.Perturb(rand.New(rand.NewPCG(1, 2)), x)
	balance := 0
	for i, v := range adv {
		up, down := math.Min(1, float64(x[i])+eps), math.Max(0, float64(x[i])-eps)
		switch {
		case math.Abs(float64(v)-up) < 1e-6 && math.Abs(float64(v)-down) >= 1e-6:
			balance++
		case math.Abs(float64(v)-down) < 1e-6 && math.Abs(float64(v)-up) >= 1e-6:
			balance--
		case math.Abs(float64(v)-up) >= 1e-6:
			t.Fatalf("value %d: %v -> %v, want %v or %v", i, x[i], v, down, up)
		}
	}
	if math.Abs(float64(balance)) > 200 {
		t.Errorf("sign balance %d over %d values", balance, len(x))
	}
}

func TestParseNamesAndRejectBadSettings(t *testing.T) {
	for _, c := range []attack.Criterion{attack.KeepKendall, attack.KeepTopK, attack.KeepSpearman, attack.KeepCenterShift, attack.KeepTargetMSE} {
		if got, err := attack.ParseCriterion(c.String()); err != nil || got != c {
			t.Errorf("ParseCriterion(%q) = %v, %v", c, got, err)
		}
	}
	for _, o := range []attack.Objective{attack.TopKObjective, attack.CenterObjective} {
		if got, err := attack.ParseObjective(o.String()); err != nil || got != o {
			t.Errorf("ParseObjective(%q) = %v, %v", o, got, err)
		}
	}
	if _, err := attack.ParseCriterion("loudest"); err == nil {
		t.Error("ParseCriterion: no error for an unknown name")
	}
	if _, err := attack.ParseObjective("middle"); err == nil {
		t.Error("ParseObjective: no error for an unknown name")
	}
	bad := []error{
		func() error { a := attack.DefaultIFIA(); a.Eps = -1; return a.Validate() }(),
		func() error { a := attack.DefaultIFIA(); a.Restarts = 0; return a.Validate() }(),
		func() error { a := attack.DefaultIFIA(); a.Beta = 0; return a.Validate() }(),
		func() error { a := attack.DefaultManipulation(); a.Gamma = -1; return a.Validate() }(),
		attack.RandomSign{Eps: 0.1}.Validate(),
		attack.Spatial{Rotations: 0, Translations: 1}.Validate(),
	}
	for i, err := range bad {
		if err == nil {
			t.Errorf("bad setting %d: no error", i)
		}
	}
	for i, err := range []error{attack.DefaultIFIA().Validate(), attack.DefaultCenterAttack().Validate(),
		attack.DefaultManipulation().Validate(), attack.DefaultRandomSign().Validate(),
		attack.DefaultSpatial().Validate(), attack.DefaultSPSA().Validate()} {
		if err != nil {
			t.Errorf("default %d: %v", i, err)
		}
	}
	if k := attack.DefaultTopK(32, 32); k != 100 {
		t.Errorf("DefaultTopK(32, 32) = %d, want the paper's 100", k)
	}
}
