package model

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Activation is the nonlinearity of a forward pass.
type Activation struct {
	// Beta > 0 selects softplus_beta(x) = log(1+exp(beta*x))/beta, which
	// tends to ReLU as beta grows and has non-zero second derivatives; 0
	// selects ReLU.
	Beta float64
	// Unfused, with Beta 0, writes ReLU as max(x, 0) instead of GoMLX's
	// fused activation, whose gradient has no gradient of its own: the
	// passes that differentiate a ReLU network's input gradient with respect
	// to the weights need it (IG-NORM as Chen et al. train it). Same values.
	Unfused bool
}

// ReLU is the activation of ordinary forward passes.
var ReLU = Activation{}

// ReLUTwice is ReLU whose gradient can be differentiated again (Unfused).
var ReLUTwice = Activation{Unfused: true}

// Softplus returns the smooth activation used wherever an input gradient is
// differentiated again (the paper uses beta = 50).
func Softplus(beta float64) Activation { return Activation{Beta: beta} }

// DefaultBeta is the paper's softplus beta.
const DefaultBeta = 50

func (a Activation) String() string {
	if a.Beta > 0 {
		return fmt.Sprintf("softplus(beta=%g)", a.Beta)
	}
	if a.Unfused {
		return "relu(unfused)"
	}
	return "relu"
}

// Apply applies the activation. Softplus is written as
// max(x,0) + log1p(exp(-beta*|x|))/beta, which never overflows, and its
// gradient is given directly as v*sigmoid(beta*x) (see softplus).
func (a Activation) Apply(x *graph.Node) *graph.Node {
	if a.Beta <= 0 {
		if a.Unfused {
			return graph.Max(x, graph.ZerosLike(x))
		}
		return activation.Relu(x)
	}
	return softplus(x, a.Beta)
}

// softplus is log(1+exp(beta*x))/beta with the derivative sigmoid(beta*x).
// Differentiating the overflow-safe value formula instead takes about a dozen
// elementwise passes (Abs's sign, Max's selection, Log1p's reciprocal, ...),
// and twice as many again in the second derivative the ART loss takes; the
// sigmoid (one SIMD Logistic in the Go backend) has its own simple
// derivative, beta*sigmoid*(1-sigmoid).
func softplus(x *graph.Node, beta float64) *graph.Node {
	return withGradient(x, func(x *graph.Node) *graph.Node {
		return softplusValue(x, beta)
	}, func(v *graph.Node) *graph.Node {
		return graph.Mul(v, graph.Logistic(graph.MulScalar(x, beta)))
	})
}

// softplusValue is max(x,0) + log1p(exp(-beta*|x|))/beta, which never
// overflows. In float32 the log1p is log1pUnit's series: the Go backend's
// Log1p is a scalar float64 loop (no SIMD kernel), and it was 15% of an
// ART step.
func softplusValue(x *graph.Node, beta float64) *graph.Node {
	t := graph.Exp(graph.MulScalar(graph.Abs(x), -beta))
	var tail *graph.Node
	if x.DType() == dtypes.Float32 {
		tail = log1pUnit(t)
	} else {
		tail = graph.Log1p(t)
	}
	return graph.Add(graph.Max(x, graph.ZerosLike(x)), graph.MulScalar(tail, 1/beta))
}

// log1pUnit is log(1+t) for t in [0, 1], to float32 precision, from ops the
// Go backend runs as SIMD kernels: log(1+t) = 2 atanh(s) with
// s = t/(2+t) in [0, 1/3], and atanh(s) = s + s^3/3 + s^5/5 + ... summed to
// s^13/13. The first term left out,
// s^15/15, is below 1.7e-8 of the sum: under float32's rounding (6e-8).
// About 16 vectorised passes cost a tenth of one scalar Log1p here.
func log1pUnit(t *graph.Node) *graph.Node {
	s := graph.Div(t, graph.AddScalar(t, 2))
	s2 := graph.Square(s)
	p := graph.MulScalar(s2, 1.0/13)
	for _, c := range []float64{1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3} {
		p = graph.Mul(graph.AddScalar(p, c), s2)
	}
	return graph.Mul(graph.MulScalar(s, 2), graph.AddScalar(p, 1))
}

// withGradient returns f(x) with the gradient grad(v) for an output gradient
// v instead of the derivative of f's graph; grad must be built from the
// original x with differentiable ops. It is the one-input case of
// withGradients (conv.go), which explains the mechanism.
func withGradient(x *graph.Node, f func(x *graph.Node) *graph.Node, grad func(v *graph.Node) *graph.Node) *graph.Node {
	var v *graph.Node
	xi := graph.IdentityWithCustomGradient(x, func(_, _ *graph.Node) *graph.Node {
		if v == nil {
			panic("model: custom gradient requested before its output gradient was seen")
		}
		return grad(v)
	})
	return graph.IdentityWithCustomGradient(f(xi), func(_, out *graph.Node) *graph.Node {
		v = out
		return out
	})
}
