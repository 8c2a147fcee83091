package attribution

import (
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// Gradient is the saliency map of Simonyan et al. (2014): the gradient of
// the target logit with respect to the input, dz_t/dx.
type Gradient struct {
	// Act is the activation of the pass (ReLU for plain maps; softplus when
	// the map itself is differentiated, as in attacks and ART).
	Act model.Activation
}

func (m Gradient) String() string { return "gradient/" + m.Act.String() }

// Map implements Method.
func (m Gradient) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return TargetGradient(net, x, targets, m.Act)
}

// InputXGradient is x ⊙ dz_t/dx (Shrikumar et al., 2016): the first-order
// Taylor contribution of each input value.
type InputXGradient struct {
	Act model.Activation
}

func (m InputXGradient) String() string { return "inputxgradient/" + m.Act.String() }

// Map implements Method.
func (m InputXGradient) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return graph.Mul(x, TargetGradient(net, x, targets, m.Act))
}
