package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/artrobust/art/shared/attack"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

const size = 8

func testNet(t testing.TB, seed uint64) *model.Net {
	t.Helper()
	cfg, err := model.ParseArch("WRN-10-1", 4, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	n, err := model.NewNet(b, cfg, cfg.InitValues(seed))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func batch(seed uint64, n int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*size*size*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(4))
	}
	return x, y
}

// With zeroed momentum, one Nesterov step moves w by -lr*(1+mu)*(g + wd*w).
func TestSGDStepMatchesNesterovFormula(t *testing.T) {
	n := testNet(t, 1)
	x, y := batch(2, 6)
	before, err := n.Values()
	if err != nil {
		t.Fatal(err)
	}
	// Reference gradient of the same loss, from a separate graph.
	path := "/group2/block0/conv1/weights"
	xt := tensors.FromFlatDataAndDimensions(x, 6, size, size, 3)
	yt := tensors.FromFlatDataAndDimensions(y, 6)
	grad := gmodel.MustCallOnceN(n.Backend, n.Store, func(scope *gmodel.Scope, x, y *graph.Node) []*graph.Node {
		logits := n.Logits(x, model.Pass{Act: model.ReLU, Train: true})
		return graph.Gradient(attack.CrossEntropy(logits, y), n.Store.GetVariable(path).NodeValue(x.Graph()))
	}, xt, yt)
	g := tensors.MustCopyFlatData[float32](grad[0])

	c := DefaultConfig(Natural)
	tr, err := NewTrainer(n, c)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 0.05
	m, err := tr.Step(x, y, lr, tr.Noise(rand.New(rand.NewPCG(1, 1)), len(x), size*size*3))
	if err != nil {
		t.Fatal(err)
	}
	if !(m.CE > 0) || m.Attr != 0 || m.Loss != m.CE {
		t.Errorf("natural step metrics %+v: want CE > 0, no attribution term", m)
	}
	after, err := n.Values()
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range before[path] {
		want := float64(w) - lr*(1+c.Momentum)*(float64(g[i])+c.WeightDecay*float64(w))
		if math.Abs(float64(after[path][i])-want) > 1e-6 {
			t.Fatalf("%s[%d]: %g after the step, want %g", path, i, after[path][i], want)
		}
	}
	// Batch norm running statistics moved towards the batch's.
	if after["/stem/conv/weights"][0] == before["/stem/conv/weights"][0] {
		t.Error("stem weights did not change")
	}
	if after["/group1/block0/bn1/mean"][0] == 0 {
		t.Error("running mean was not updated")
	}
}

// The inner ART attack must find an x' whose attribution loss exceeds that
// of the random start it begins from.
func TestARTAttackIncreasesAttributionLoss(t *testing.T) {
	n := testNet(t, 3)
	x, y := batch(4, 8)
	c := DefaultConfig(ART)
	c.AttackTopK = 0
	c.ARTSteps = 5
	tr, err := NewTrainer(n, c)
	if err != nil {
		t.Fatal(err)
	}
	noise := tr.Noise(rand.New(rand.NewPCG(5, 5)), len(x), size*size*3)
	soft := model.Pass{Act: model.Softplus(c.Beta), Train: true}
	out := gmodel.MustCallOnceN(n.Backend, n.Store, func(scope *gmodel.Scope, x, y, noise *graph.Node) []*graph.Node {
		start := attack.Project(attack.LInf, graph.Add(x, noise), x, c.ARTEps)
		adv := tr.artAttack(x, y, noise, soft, model.Pass{Act: model.ReLU, Train: true})
		linf := graph.ReduceAllMax(graph.Abs(graph.Sub(adv, x)))
		return []*graph.Node{
			graph.ReduceAllMean(attackLoss(n, start, y, nil, soft, c.Objective)),
			graph.ReduceAllMean(attackLoss(n, adv, y, nil, soft, c.Objective)),
			linf, graph.ReduceAllMin(adv), graph.ReduceAllMax(adv),
		}
	}, tensors.FromFlatDataAndDimensions(x, 8, size, size, 3), tensors.FromFlatDataAndDimensions(y, 8),
		tensors.FromFlatDataAndDimensions(noise, 8, size, size, 3))
	v := make([]float32, len(out))
	for i, o := range out {
		v[i] = tensors.MustCopyFlatData[float32](o)[0]
	}
	if !(v[1] > v[0]) {
		t.Errorf("attribution loss at x' %.5f not above the random start's %.5f", v[1], v[0])
	}
	if v[2] > float32(c.ARTEps)+1e-6 || v[3] < 0 || v[4] > 1 {
		t.Errorf("x' leaves the constraint set: |x'-x|_inf = %g (eps %g), range [%g, %g]", v[2], c.ARTEps, v[3], v[4])
	}
	t.Logf("L_attr: start %.5f -> attacked %.5f", v[0], v[1])
}

func TestARTStepHasAttributionTerm(t *testing.T) {
	n := testNet(t, 5)
	x, y := batch(6, 4)
	tr, err := NewTrainer(n, DefaultConfig(ART))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tr.Step(x, y, 0.01, tr.Noise(rand.New(rand.NewPCG(1, 2)), len(x), size*size*3))
	if err != nil {
		t.Fatal(err)
	}
	// softplus(d_pos - d_neg) lies in (0, softplus(2)).
	if !(m.Attr > 0 && m.Attr < math.Log1p(math.Exp(2))) {
		t.Errorf("attribution loss %g outside (0, softplus(2))", m.Attr)
	}
	if math.Abs(m.Loss-(m.CE+0.5*m.Attr)) > 1e-5 {
		t.Errorf("loss %g != CE %g + 0.5 * attr %g", m.Loss, m.CE, m.Attr)
	}
}

func TestTopKMaskSelectsTheLargestMagnitudes(t *testing.T) {
	b, err := compute.New()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, k = 3, 200, 37
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	out := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node { return TopKMask(x, k) },
		tensors.FromFlatDataAndDimensions(v, n, d))
	m := tensors.MustCopyFlatData[float32](out)
	for r := range n {
		row := v[r*d : (r+1)*d]
		// Brute force: an entry is in the top k iff fewer than k entries are larger.
		count := 0
		for i, x := range row {
			larger := 0
			for _, y := range row {
				if math.Abs(float64(y)) > math.Abs(float64(x)) {
					larger++
				}
			}
			want := float32(0)
			if larger < k {
				want = 1
			}
			if m[r*d+i] != want {
				t.Fatalf("row %d entry %d (|%g|, %d larger): mask %g, want %g", r, i, x, larger, m[r*d+i], want)
			}
			count += int(m[r*d+i])
		}
		if count != k {
			t.Errorf("row %d: %d entries selected, want %d", r, count, k)
		}
	}
}

// The attribution term must reach the weights through the second
// derivatives: the same ART step with lambda 0 and lambda 1 moves them
// differently, by the gradient of the attribution loss.
func TestARTAttributionTermReachesTheWeights(t *testing.T) {
	x, y := batch(8, 6)
	var after [2]map[string][]float32
	for i, lambda := range []float64{0, 1} {
		n := testNet(t, 9)
		c := DefaultConfig(ART)
		c.Lambda, c.AttackTopK = lambda, 0
		tr, err := NewTrainer(n, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Step(x, y, 0.1, tr.Noise(rand.New(rand.NewPCG(3, 3)), len(x), size*size*3)); err != nil {
			t.Fatal(err)
		}
		if after[i], err = n.Values(); err != nil {
			t.Fatal(err)
		}
	}
	path := "/group1/block0/conv1/weights"
	diff := 0.0
	for j := range after[0][path] {
		diff += math.Abs(float64(after[0][path][j] - after[1][path][j]))
	}
	if diff < 1e-6 {
		t.Errorf("lambda 0 and 1 give the same update of %s (sum |diff| = %g): the attribution term has no gradient", path, diff)
	}
	t.Logf("sum |update difference| of %s: %g", path, diff)
}
