// Package attack implements adversarial attacks on classifiers (PGD) and on
// their explanations (attribution attacks), as graph functions that the
// trainer differentiates through and as host-level calls for evaluation.
package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Norm is the threat model's norm.
type Norm int

const (
	// LInf bounds every pixel's change by Eps.
	LInf Norm = iota
	// L2 bounds the Euclidean norm of each image's change by Eps.
	L2
)

func (n Norm) String() string {
	if n == L2 {
		return "l2"
	}
	return "linf"
}

// ParseNorm parses "linf" or "l2".
func ParseNorm(s string) (Norm, error) {
	switch strings.ToLower(s) {
	case "linf", "inf", "l-inf":
		return LInf, nil
	case "l2":
		return L2, nil
	}
	return 0, fmt.Errorf("unknown norm %q (want linf or l2)", s)
}

// PGD is projected gradient ascent on the cross-entropy loss (Madry et al.,
// ICLR 2018): from a random start in the Eps-ball around x, Steps steps of
// size Step along sign(grad) (L-inf) or grad/||grad|| (L2), each followed by
// projection onto the ball and clipping to [0,1].
type PGD struct {
	Norm        Norm
	Eps, Step   float64
	Steps       int
	RandomStart bool
}

func (p PGD) String() string {
	return fmt.Sprintf("pgd/%s/eps=%g/step=%g/n=%d/rs=%v", p.Norm, p.Eps, p.Step, p.Steps, p.RandomStart)
}

// Validate checks the settings.
func (p PGD) Validate() error {
	if p.Eps < 0 || p.Step < 0 || p.Steps < 0 {
		return fmt.Errorf("PGD: eps (%g), step (%g) and steps (%d) must not be negative", p.Eps, p.Step, p.Steps)
	}
	return nil
}

// Noise draws the random start for a batch of n values: uniform in
// [-Eps, Eps] per value (L-inf), or a Gaussian direction scaled to a radius
// uniform in [0, Eps] per image of size per (L2). Zero if !RandomStart.
func (p PGD) Noise(rng *rand.Rand, n, per int) []float32 {
	out := make([]float32, n)
	if !p.RandomStart || p.Eps == 0 {
		return out
	}
	if p.Norm == LInf {
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * p.Eps)
		}
		return out
	}
	for img := 0; img < n/per; img++ {
		v := out[img*per : (img+1)*per]
		ss := 0.0
		for i := range v {
			g := rng.NormFloat64()
			v[i] = float32(g)
			ss += g * g
		}
		scale := p.Eps * rng.Float64() / max(math.Sqrt(ss), 1e-12)
		for i := range v {
			v[i] *= float32(scale)
		}
	}
	return out
}

// Graph builds the attack inside a graph: x [N,H,W,C], labels int32 [N],
// noise like x (from Noise). The forward passes use pass (callers choose
// ReLU and the batch-norm mode). The result carries no gradient.
func (p PGD) Graph(net *model.Net, x, labels, noise *graph.Node, pass model.Pass) *graph.Node {
	pass.UpdateStats = false
	x = Detach(x)
	adv := Detach(Project(p.Norm, graph.Add(x, noise), x, p.Eps))
	for range p.Steps {
		logits := net.Logits(adv, pass)
		loss := CrossEntropy(logits, labels)
		g := graph.Gradient(loss, adv)[0]
		adv = Detach(Project(p.Norm, graph.Add(adv, Direction(p.Norm, g, p.Step)), x, p.Eps))
	}
	return adv
}

// Detach returns a copy of x through which no gradient flows back, but with
// respect to which gradients can still be taken: an attack iterate. (GoMLX
// cannot differentiate with respect to a StopGradient node itself: its
// consumers do not propagate into it.)
func Detach(x *graph.Node) *graph.Node {
	return graph.Identity(graph.StopGradient(x))
}

// Attack runs PGD on an NHWC batch in evaluation mode (ReLU, running
// batch-norm statistics) and returns the adversarial images.
func (p PGD) Attack(net *model.Net, x []float32, labels []int, seed uint64) ([]float32, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	yt, err := targetTensor(net, labels, n)
	if err != nil {
		return nil, err
	}
	noise := p.Noise(rand.New(rand.NewPCG(seed, 0x9d)), len(x), len(x)/n)
	out, err := net.Call("attack/"+p.String(), func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, y, noise *graph.Node) *graph.Node {
			return p.Graph(net, x, y, noise, model.Pass{Act: model.ReLU})
		})
	}, xt, yt, tensors.FromFlatDataAndDimensions(noise, xt.Shape().Dimensions...))
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float32](out[0])
}

// CrossEntropy is the mean softmax cross-entropy of logits [N,K] against
// int32 labels [N].
func CrossEntropy(logits, labels *graph.Node) *graph.Node {
	k := logits.Shape().Dimensions[1]
	onehot := graph.OneHot(labels, k, logits.DType())
	logp := graph.LogSoftmax(logits, 1)
	return graph.Neg(graph.ReduceAllMean(graph.ReduceSum(graph.Mul(logp, onehot), 1)))
}

// Direction is the steepest-ascent step of the given size for gradient g:
// size*sign(g) for L-inf, size*g/||g|| per image for L2.
func Direction(norm Norm, g *graph.Node, size float64) *graph.Node {
	if norm == LInf {
		return graph.MulScalar(graph.Sign(g), size)
	}
	return graph.MulScalar(graph.Div(g, perImageNorm(g)), size)
}

// Project maps adv onto the eps-ball around x (in the given norm) and then
// onto the valid pixel range [0,1].
func Project(norm Norm, adv, x *graph.Node, eps float64) *graph.Node {
	delta := graph.Sub(adv, x)
	if norm == LInf {
		delta = graph.ClipScalar(delta, -eps, eps)
	} else {
		n := perImageNorm(delta)
		scale := graph.Min(graph.OnesLike(n), graph.Div(graph.Scalar(n.Graph(), n.DType(), eps), n))
		delta = graph.Mul(delta, scale)
	}
	return graph.ClipScalar(graph.Add(x, delta), 0, 1)
}

// perImageNorm is ||v_i||_2 broadcastable against v [N,...], floored at 1e-12.
func perImageNorm(v *graph.Node) *graph.Node {
	d := v.Shape().Dimensions
	axes := make([]int, len(d)-1)
	for i := range axes {
		axes[i] = i + 1
	}
	n := graph.Sqrt(graph.ReduceAndKeep(graph.Square(v), graph.ReduceSum, axes...))
	return graph.MaxScalar(n, 1e-12)
}
