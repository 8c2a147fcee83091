package attribution

import (
	"fmt"
	"strings"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// Rule is the Riemann rule that discretises the path integral of
// Integrated Gradients.
type Rule int

const (
	// RiemannRight evaluates at alpha = k/K, k = 1..K (the ART reference code).
	RiemannRight Rule = iota
	// RiemannLeft evaluates at alpha = (k-1)/K.
	RiemannLeft
	// RiemannMiddle evaluates at alpha = (k-1/2)/K.
	RiemannMiddle
	// RiemannTrapezoid evaluates at alpha = k/(K-1), k = 0..K-1, halving the
	// weights of both end points.
	RiemannTrapezoid
)

var ruleNames = []string{"right", "left", "middle", "trapezoid"}

func (r Rule) String() string {
	if r < 0 || int(r) >= len(ruleNames) {
		return fmt.Sprintf("Rule(%d)", int(r))
	}
	return ruleNames[r]
}

// ParseRule parses right, left, middle or trapezoid.
func ParseRule(s string) (Rule, error) {
	for i, n := range ruleNames {
		if strings.EqualFold(s, n) {
			return Rule(i), nil
		}
	}
	return 0, fmt.Errorf("unknown Riemann rule %q (want one of %s)", s, strings.Join(ruleNames, ", "))
}

// alphas returns the K path positions and their quadrature weights.
func (r Rule) alphas(k int) (alpha, weight []float32) {
	alpha, weight = make([]float32, k), make([]float32, k)
	for i := range k {
		weight[i] = 1 / float32(k)
		switch r {
		case RiemannLeft:
			alpha[i] = float32(i) / float32(k)
		case RiemannMiddle:
			alpha[i] = (float32(i) + 0.5) / float32(k)
		case RiemannTrapezoid:
			if k == 1 {
				alpha[i], weight[i] = 1, 1
				continue
			}
			alpha[i] = float32(i) / float32(k-1)
			weight[i] = 1 / float32(k-1)
			if i == 0 || i == k-1 {
				weight[i] /= 2
			}
		default:
			alpha[i] = float32(i+1) / float32(k)
		}
	}
	return alpha, weight
}

// IntegratedGradients is the path method of Sundararajan et al. (ICML 2017):
//
//	IG_i(x) = (x_i - b_i) * integral_0^1 dz_t/dx_i (b + alpha (x - b)) d alpha
//
// discretised with Steps points by Rule. It satisfies completeness:
// sum_i IG_i(x) = z_t(x) - z_t(b), up to the discretisation error.
type IntegratedGradients struct {
	Steps int
	Rule  Rule
	// Baseline is one image (H*W*C values) used for every input; nil means
	// the all-zero (black) image, the paper's choice.
	Baseline []float32
	// ChunkSize bounds how many path points per input Attribute evaluates
	// at once (0: all Steps at once). It does not change the result.
	ChunkSize int
	Act       model.Activation
}

func (m IntegratedGradients) String() string {
	b := "zero"
	if m.Baseline != nil {
		b = fmt.Sprintf("custom%p", &m.Baseline[0])
	}
	return fmt.Sprintf("ig/steps=%d/%s/baseline=%s/%s", m.Steps, m.Rule, b, m.Act)
}

func (m IntegratedGradients) numPoints() int { return max(m.Steps, 1) }
func (m IntegratedGradients) chunkSize() int { return m.ChunkSize }

// baseline returns b broadcastable against [N, K, H, W, C].
func (m IntegratedGradients) baseline(x *graph.Node) *graph.Node {
	d := x.Shape().Dimensions
	if m.Baseline == nil {
		return graph.ZerosLike(graph.Slice(x, graph.AxisElem(0)))
	}
	if len(m.Baseline) != d[1]*d[2]*d[3] {
		panic(fmt.Errorf("integrated gradients: baseline has %d values, inputs are %dx%dx%d", len(m.Baseline), d[1], d[2], d[3]))
	}
	return constant(x, m.Baseline, 1, d[1], d[2], d[3])
}

func (m IntegratedGradients) partial(net *model.Net, x, targets *graph.Node, k0, k1 int) *graph.Node {
	d := x.Shape().Dimensions
	n, k := d[0], k1-k0
	alpha, weight := m.Rule.alphas(m.numPoints())
	alpha, weight = alpha[k0:k1], weight[k0:k1]
	b := m.baseline(x)                     // [1,H,W,C]
	diff := graph.Sub(x, b)                // [N,H,W,C]
	a := constant(x, alpha, 1, k, 1, 1, 1) // [1,K,1,1,1]
	pts := graph.Add(graph.InsertAxes(b, 1), graph.Mul(a, repeatPoints(diff, k)))
	grads := pointGradients(net, graph.Reshape(pts, n*k, d[1], d[2], d[3]), targets, k, m.Act)
	w := constant(x, weight, 1, k, 1, 1, 1)
	avg := graph.ReduceSum(graph.Mul(grads, w), 1) // [N,H,W,C]
	return graph.Mul(diff, avg)
}

// Map implements Method, evaluating all Steps points in one graph.
func (m IntegratedGradients) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return mapFromPartials(net, m, x, targets)
}
