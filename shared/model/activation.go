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
// max(x,0) + log1p(exp(-beta*|x|))/beta, which never overflows.
func (a Activation) Apply(x *graph.Node) *graph.Node {
	if a.Beta <= 0 {
		return activation.Relu(x)
	}
	neg := graph.Neg(graph.MulScalar(graph.Abs(x), a.Beta))
	return graph.Add(graph.Max(x, graph.ZerosLike(x)), graph.DivScalar(graph.Log1p(graph.Exp(neg)), a.Beta))
}
