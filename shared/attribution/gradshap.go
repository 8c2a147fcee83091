package attribution

import (
	"fmt"
	"math/rand/v2"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// GradientSHAP approximates SHAP values by expected gradients (Lundberg &
// Lee, 2017; Erion et al., 2021), as Captum's GradientShap does: for K
// samples, pick a baseline b_k from a distribution, add Gaussian noise n_k
// to the input, pick alpha_k ~ U(0,1), and average
//
//	(x - b_k) ⊙ dz_t/dx (b_k + alpha_k (x + n_k - b_k)).
//
// Baselines, noise and alphas are drawn once from Seed and shared by the
// inputs of a batch, so maps are deterministic.
type GradientSHAP struct {
	Samples int
	// Sigma is the standard deviation of the input noise (pixel units).
	Sigma float64
	// Baselines holds candidate baseline images (H*W*C values each); nil
	// draws them uniformly from [0,1]^(H*W*C) per sample.
	Baselines [][]float32
	Seed      uint64
	ChunkSize int
	Act       model.Activation
}

func (m GradientSHAP) String() string {
	b := "uniform"
	if m.Baselines != nil {
		b = fmt.Sprintf("custom%p", &m.Baselines[0])
	}
	return fmt.Sprintf("gradshap/n=%d/sigma=%g/baselines=%s/seed=%d/%s", m.Samples, m.Sigma, b, m.Seed, m.Act)
}

func (m GradientSHAP) numPoints() int { return max(m.Samples, 1) }
func (m GradientSHAP) chunkSize() int { return m.ChunkSize }

// draws returns the per-sample baselines, noise and alphas for all K samples.
func (m GradientSHAP) draws(size int) (base, noise, alpha []float32) {
	k := m.numPoints()
	rng := rand.New(rand.NewPCG(m.Seed, 0x5ba9))
	base = make([]float32, k*size)
	alpha = make([]float32, k)
	for i := range k {
		if m.Baselines != nil {
			b := m.Baselines[rng.IntN(len(m.Baselines))]
			if len(b) != size {
				panic(fmt.Errorf("gradient SHAP: a baseline has %d values, inputs have %d", len(b), size))
			}
			copy(base[i*size:], b)
		} else {
			for j := range size {
				base[i*size+j] = rng.Float32()
			}
		}
		alpha[i] = rng.Float32()
	}
	noise = gaussianNoise(m.Seed+1, k, size, m.Sigma)
	return base, noise, alpha
}

func (m GradientSHAP) partial(net *model.Net, x, targets *graph.Node, k0, k1 int) *graph.Node {
	d := x.Shape().Dimensions
	n, k, size := d[0], k1-k0, d[1]*d[2]*d[3]
	base, noise, alpha := m.draws(size)
	b := constant(x, base[k0*size:k1*size], 1, k, d[1], d[2], d[3])
	nz := constant(x, noise[k0*size:k1*size], 1, k, d[1], d[2], d[3])
	a := constant(x, alpha[k0:k1], 1, k, 1, 1, 1)
	xs := repeatPoints(x, k)
	pts := graph.Add(b, graph.Mul(a, graph.Sub(graph.Add(xs, nz), b)))
	grads := pointGradients(net, graph.Reshape(pts, n*k, d[1], d[2], d[3]), targets, k, m.Act)
	contrib := graph.Mul(graph.Sub(xs, b), grads)
	return graph.DivScalar(graph.ReduceSum(contrib, 1), float64(m.numPoints()))
}

// Map implements Method.
func (m GradientSHAP) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return mapFromPartials(net, m, x, targets)
}
