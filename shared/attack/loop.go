package attack

import (
	"fmt"
	"math/rand/v2"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// objective is the quantity an attribution attack's step ascends, built
// from the clean images x, the iterates adv, the labels, the attack's
// auxiliary input aux and the differentiable saliency maps sal [N,H,W] of
// adv. It sums over the images of the batch, which are independent in
// evaluation mode.
type objective func(net *model.Net, x, adv, labels, aux, sal *graph.Node) *graph.Node

// iterative is the host loop shared by the attribution attacks: from each
// start, steps of sign(grad objective) projected onto the L-inf ball and
// [0,1]; after every step the evaluation maps and the prediction of each
// iterate are compared with the clean ones, and the best iterate under keep
// that is still classified correctly is kept, over all restarts.
type iterative struct {
	name            string // the attack, for errors
	graphKey        string // every setting the step graph closes over (not Steps, K, restarts)
	eps, step       float64
	randomStart     bool // restart 0 from a random point of the ball too
	steps, restarts int
	seed            uint64
	keep            Criterion
	k               int
	attackM, evalM  attribution.Method
	obj             objective
	// aux builds the auxiliary input of the step graph from the clean
	// evaluation maps (N*H*W values).
	aux     func(clean []float32, n, h, w int) *tensors.Tensor
	targets []float32 // target maps (N*H*W) or nil
	observe Observer
}

// stepGraph is one iteration: x and adv [N,H,W,C], labels int32 [N].
func stepGraph(net *model.Net, m attribution.Method, obj objective, eps, step float64, x, adv, labels, aux *graph.Node) *graph.Node {
	x, adv = Detach(x), Detach(adv)
	sal := attribution.Saliency(m.Map(net, adv, labels))
	g := graph.Gradient(obj(net, x, adv, labels, aux, sal), adv)[0]
	return graph.StopGradient(Project(LInf, graph.Add(adv, Direction(LInf, g, step)), x, eps))
}

func (it iterative) key() string {
	return fmt.Sprintf("attack/%s/attack-map=%s/eval-map=%s", it.graphKey, it.attackM, it.evalM)
}

func (it iterative) run(net *model.Net, x []float32, labels []int) (*Result, error) {
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	yt, err := targetTensor(net, labels, n)
	if err != nil {
		return nil, err
	}
	h, w, classes := net.Config.InputSize, net.Config.InputSize, net.Config.NumClasses
	per, hw := len(x)/n, h*w
	if it.targets != nil && len(it.targets) != n*hw {
		return nil, fmt.Errorf("attack %s: %d target map values for %d maps of %dx%d", it.name, len(it.targets), n, h, w)
	}
	if it.k < 1 || it.k > hw {
		return nil, fmt.Errorf("attack %s: top-k k = %d outside [1, %d]", it.name, it.k, hw)
	}
	clean, cleanLogits, err := evalCall(net, it.evalM, xt, yt)
	if err != nil {
		return nil, err
	}
	auxT := it.aux(clean, n, h, w)

	res := &Result{Adv: append([]float32(nil), x...), Images: make([]ImageResult, n)}
	target := func(i int) []float32 {
		if it.targets == nil {
			return nil
		}
		return it.targets[i*hw : (i+1)*hw]
	}
	for i := range res.Images {
		s := compare(clean[i*hw:(i+1)*hw], clean[i*hw:(i+1)*hw], target(i), x[i*per:(i+1)*per], x[i*per:(i+1)*per],
			cleanLogits[i*classes:(i+1)*classes], labels[i], it.k, h, w)
		res.Images[i] = ImageResult{Label: labels[i], CleanCorrect: s.Correct, Kept: s, Restart: -1, Step: -1,
			Trace: make([][]Stats, it.restarts)}
	}
	record := func(r, step int, adv, sal, logits []float32) {
		for i := range res.Images {
			img := &res.Images[i]
			xa := adv[i*per : (i+1)*per]
			s := compare(clean[i*hw:(i+1)*hw], sal[i*hw:(i+1)*hw], target(i), x[i*per:(i+1)*per], xa,
				logits[i*classes:(i+1)*classes], labels[i], it.k, h, w)
			img.Trace[r] = append(img.Trace[r], s)
			if img.CleanCorrect && it.keep.better(s, img.Kept, true) {
				img.Kept, img.Restart, img.Step = s, r, step
				copy(res.Adv[i*per:(i+1)*per], xa)
			}
		}
		if it.observe != nil {
			it.observe(r, step, adv)
		}
	}

	build := func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, in []*graph.Node) []*graph.Node {
			next := stepGraph(net, it.attackM, it.obj, it.eps, it.step, in[0], in[1], in[2], in[3])
			sal, logits := mapsGraph(net, it.evalM, Detach(next), in[2])
			return []*graph.Node{next, sal, logits}
		})
	}
	for r := range it.restarts {
		adv, sal, logits := x, clean, cleanLogits
		advT := xt
		if r > 0 || it.randomStart {
			adv = uniformStart(rand.New(rand.NewPCG(it.seed, uint64(r))), x, it.eps)
			advT = tensors.FromFlatDataAndDimensions(adv, xt.Shape().Dimensions...)
			if sal, logits, err = evalCall(net, it.evalM, advT, yt); err != nil {
				return nil, err
			}
		}
		record(r, 0, adv, sal, logits)
		for s := 1; s <= it.steps; s++ {
			out, err := net.Call(it.key(), build, xt, advT, yt, auxT)
			if err != nil {
				return nil, err
			}
			advT = out[0]
			if adv, err = tensors.CopyFlatData[float32](out[0]); err != nil {
				return nil, err
			}
			if sal, err = tensors.CopyFlatData[float32](out[1]); err != nil {
				return nil, err
			}
			if logits, err = tensors.CopyFlatData[float32](out[2]); err != nil {
				return nil, err
			}
			record(r, s, adv, sal, logits)
		}
	}
	return res, nil
}

// uniformStart is x plus uniform noise in [-eps, eps] per value, clipped to
// [0,1].
func uniformStart(rng *rand.Rand, x []float32, eps float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(min(1, max(0, float64(v)+(2*rng.Float64()-1)*eps)))
	}
	return out
}

// checkSteps validates the settings every iterative attack shares.
func checkSteps(name string, eps, step float64, steps, restarts int, beta float64) error {
	switch {
	case !(eps >= 0) || !(step >= 0) || steps < 0:
		return fmt.Errorf("%s: eps (%g), step (%g) and steps (%d) must not be negative", name, eps, step, steps)
	case restarts < 1:
		return fmt.Errorf("%s: need at least one restart, got %d", name, restarts)
	case !(beta > 0):
		return fmt.Errorf("%s: the attack's softplus beta must be positive (ReLU has no second derivative), got %g", name, beta)
	}
	return nil
}
