package attribution

import (
	"fmt"
	"math/rand/v2"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// SmoothGrad averages the gradient over Gaussian perturbations of the input
// (Smilkov et al., 2017): (1/K) sum_k dz_t/dx (x + n_k), n_k ~ N(0, Sigma^2).
// The K noise images are drawn once from Seed and shared by every input of
// a batch, so maps are deterministic.
type SmoothGrad struct {
	Samples int
	// Sigma is the noise's standard deviation in pixel units (inputs are in
	// [0,1], so 0.15 is the paper's "15% of the range").
	Sigma     float64
	Seed      uint64
	ChunkSize int
	Act       model.Activation
}

func (m SmoothGrad) String() string {
	return fmt.Sprintf("smoothgrad/n=%d/sigma=%g/seed=%d/%s", m.Samples, m.Sigma, m.Seed, m.Act)
}

func (m SmoothGrad) numPoints() int { return max(m.Samples, 1) }
func (m SmoothGrad) chunkSize() int { return m.ChunkSize }

// gaussianNoise draws k images of size n from N(0, sigma^2) with a seeded PCG.
func gaussianNoise(seed uint64, k, n int, sigma float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5a17))
	out := make([]float32, k*n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * sigma)
	}
	return out
}

func (m SmoothGrad) partial(net *model.Net, x, targets *graph.Node, k0, k1 int) *graph.Node {
	d := x.Shape().Dimensions
	n, k, size := d[0], k1-k0, d[1]*d[2]*d[3]
	noise := gaussianNoise(m.Seed, m.numPoints(), size, m.Sigma)[k0*size : k1*size]
	pts := graph.Add(repeatPoints(x, k), constant(x, noise, 1, k, d[1], d[2], d[3]))
	grads := pointGradients(net, graph.Reshape(pts, n*k, d[1], d[2], d[3]), targets, k, m.Act)
	return graph.DivScalar(graph.ReduceSum(grads, 1), float64(m.numPoints()))
}

// Map implements Method.
func (m SmoothGrad) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return mapFromPartials(net, m, x, targets)
}
