package model

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Activation is the nonlinearity of a forward pass.
type Activation struct {
	// Beta > 0 selects softplus_beta(x) = log(1+exp(beta*x))/beta, which
	// tends to ReLU as beta grows and has non-zero second derivatives; 0
	// selects ReLU.
	Beta float64
}

// ReLU is the activation of ordinary forward passes.
var ReLU = Activation{}

// Softplus returns the smooth activation used wherever an input gradient is
// differentiated again (the paper uses beta = 50).
func Softplus(beta float64) Activation { return Activation{Beta: beta} }

// DefaultBeta is the paper's softplus beta.
const DefaultBeta = 50

func (a Activation) String() string {
	if a.Beta > 0 {
		return fmt.Sprintf("softplus(beta=%g)", a.Beta)
	}
	return "relu"
}

// Apply applies the activation. Softplus is written as
// max(x,0) + log1p(exp(-beta*|x|))/beta, which never overflows, and its
// gradient is given directly as v*sigmoid(beta*x) (see softplus).
func (a Activation) Apply(x *graph.Node) *graph.Node {
	if a.Beta <= 0 {
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
// overflows.
func softplusValue(x *graph.Node, beta float64) *graph.Node {
	tail := graph.Log1p(graph.Exp(graph.MulScalar(graph.Abs(x), -beta)))
	return graph.Add(graph.Max(x, graph.ZerosLike(x)), graph.MulScalar(tail, 1/beta))
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
