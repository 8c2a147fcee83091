package attribution

import (
	"github.com/gomlx/gomlx/core/graph"
)

// Saliency is the map post-processing of the ART evaluation (Singh et al.,
// 2020, following Ghorbani et al., 2019), in a graph: |map| averaged over
// channels and normalised to sum H*W per image, so that a uniform map is all
// ones. maps is [N,H,W,C]; the result is [N,H,W]. An all-zero map stays all
// zero.
func Saliency(maps *graph.Node) *graph.Node {
	d := maps.Shape().Dimensions
	s := graph.ReduceMean(graph.Abs(maps), 3)
	total := graph.ReduceSum(s, 1, 2) // [N]
	scale := graph.Div(graph.Scalar(maps.Graph(), maps.DType(), float64(d[1]*d[2])),
		graph.Max(total, graph.Scalar(maps.Graph(), maps.DType(), 1e-30)))
	return graph.Mul(s, graph.Reshape(scale, d[0], 1, 1))
}
