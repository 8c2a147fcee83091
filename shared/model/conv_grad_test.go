package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestConvGatherGradientsMatchAutodiff checks ConvGather's hand-written
// gradients (patchConv), and ConvSpaceToDepth's (nativeConv), against GoMLX's autodiff of the same gather
// formulation, in float64, up to third order: the output, both first
// derivatives of sum(r*y^2)/2, the second derivatives of |dx|^2 (what the
// ART loss needs), and third derivatives through the kernel gradient.
func TestConvGatherGradientsMatchAutodiff(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(4, 5))
	for _, tc := range []struct{ h, k, stride, pad, cin, cout int }{
		{9, 3, 1, 1, 3, 4}, {9, 3, 2, 1, 3, 4}, {8, 3, 2, 1, 5, 2}, {7, 3, 1, 0, 2, 3},
		{8, 5, 1, 2, 2, 3}, {8, 1, 2, 0, 3, 6}, {7, 1, 1, 0, 4, 2}, {7, 2, 1, 0, 3, 2}, {9, 2, 2, 0, 2, 3},
	} {
		t.Run(fmt.Sprintf("h%d_k%d_s%d_p%d_%dto%d", tc.h, tc.k, tc.stride, tc.pad, tc.cin, tc.cout), func(t *testing.T) {
			ho := ConvOutputSize(tc.h, tc.k, tc.stride, tc.pad)
			normals := func(n int) []float64 {
				v := make([]float64, n)
				for i := range v {
					v[i] = rng.NormFloat64()
				}
				return v
			}
			const n = 4
			x := tensors.FromFlatDataAndDimensions(normals(n*tc.h*tc.h*tc.cin), n, tc.h, tc.h, tc.cin)
			w := tensors.FromFlatDataAndDimensions(normals(tc.k*tc.k*tc.cin*tc.cout), tc.k, tc.k, tc.cin, tc.cout)
			r := tensors.FromFlatDataAndDimensions(normals(n*ho*ho*tc.cout), n, ho, ho, tc.cout)
			names := []string{"y", "dx", "dw", "d|dx|^2/dw", "d|dx|^2/dx", "d|dw|^2/dx", "d|dw|^2/dr", "d|d|dx|^2/dw|^2/dx"}
			// parts 0 is GoMLX's autodiff of convGatherAutodiff; -1 is
			// ConvSpaceToDepth (the block convolution's hand-written
			// Convolve gradients, nativeConv); otherwise ConvGather's
			// hand-written gradients with the batch in that many parts.
			run := func(parts int) [][]float64 {
				e := graph.MustNewExec(b, func(x, w, r *graph.Node) []*graph.Node {
					var y *graph.Node
					if parts < 0 {
						y = convSpaceToDepth(x, w, tc.stride, tc.pad)
					} else if parts > 0 {
						c := newPatchConv(x, w, tc.stride, tc.pad)
						c.setParts(parts)
						y = c.conv(x, w)
					} else {
						y = convGatherAutodiff(x, w, tc.stride, tc.pad)
					}
					sq := func(n *graph.Node) *graph.Node { return graph.ReduceAllSum(graph.Square(n)) }
					// r*y^2/2 rather than r*y, so that dx and dw depend on x.
					g := graph.Gradient(graph.MulScalar(graph.ReduceAllSum(graph.Mul(graph.Square(y), r)), 0.5), x, w)
					dx, dw := g[0], g[1]
					g2 := graph.Gradient(sq(dx), w, x)
					g3 := graph.Gradient(sq(dw), x, r)
					g4 := graph.Gradient(sq(g2[0]), x)
					out := []*graph.Node{y, dx, dw, g2[0], g2[1], g3[0], g3[1], g4[0]}
					for i, o := range out {
						out[i] = graph.Reshape(o, -1)
					}
					return out
				})
				res := e.MustCall(x, w, r)
				vals := make([][]float64, len(res))
				for i, o := range res {
					vals[i] = tensors.MustCopyFlatData[float64](o)
				}
				return vals
			}
			want := run(0)
			for q := range want {
				scale := 0.0
				for _, v := range want[q] {
					scale = math.Max(scale, math.Abs(v))
				}
				if scale == 0 {
					t.Fatalf("%s is identically zero: the comparison would prove nothing", names[q])
				}
			}
			for _, parts := range []int{1, 2, 3, 4, -1} {
				got := run(parts)
				for q := range want {
					scale := 0.0
					for _, v := range want[q] {
						scale = math.Max(scale, math.Abs(v))
					}
					for i := range want[q] {
						if d := math.Abs(got[q][i] - want[q][i]); d > 1e-10*scale {
							t.Fatalf("batch in %d parts: %s[%d] = %.12g, autodiff gives %.12g", parts, names[q], i, got[q][i], want[q][i])
						}
					}
				}
			}
		})
	}
}

// TestTransposeRowsIsExact checks the identity-product transpose bit for bit
// (up to the sign of zero) against Transpose, on values from 1e-30 to 1e30.
func TestTransposeRowsIsExact(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(6, 7))
	for _, cols := range []int{1, 7, 64, maxEyeTranspose + 1} {
		m := make([]float32, 33*cols)
		for i := range m {
			m[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30)))
		}
		m[0] = float32(math.Copysign(0, -1))
		e := graph.MustNewExec(b, func(m *graph.Node) []*graph.Node {
			return []*graph.Node{transposeRows(m), graph.Transpose(m, 0, 1)}
		})
		out := e.MustCall(tensors.FromFlatDataAndDimensions(m, 33, cols))
		got, want := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] == 0 && want[i] == 0) {
				t.Fatalf("cols=%d: element %d = %g, Transpose gives %g", cols, i, got[i], want[i])
			}
		}
	}
}

// TestSoftplusGradientsMatchAutodiff checks softplus's hand-written
// derivative sigmoid(beta*x) against GoMLX's autodiff of the value formula,
// in float64, up to the third derivative, from |beta*x| = 0 to 5000.
func TestSoftplusGradientsMatchAutodiff(t *testing.T) {
	b := testBackend(t)
	const beta = DefaultBeta
	var xs []float64
	for _, m := range []float64{0, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.7, 3, 100} {
		xs = append(xs, m, -m)
	}
	x := tensors.FromFlatDataAndDimensions(xs, len(xs))
	r := make([]float64, len(xs))
	for i := range r {
		r[i] = 1 + 0.1*float64(i)
	}
	rt := tensors.FromFlatDataAndDimensions(r, len(r))
	run := func(custom bool) [][]float64 {
		e := graph.MustNewExec(b, func(x, r *graph.Node) []*graph.Node {
			var y *graph.Node
			if custom {
				y = softplus(x, beta)
			} else {
				y = softplusValue(x, beta)
			}
			// sum(r*y): its gradient r*y' has y'' and y''' as further derivatives.
			d1 := graph.Gradient(graph.ReduceAllSum(graph.Mul(r, y)), x)[0]
			d2 := graph.Gradient(graph.ReduceAllSum(d1), x)[0]
			d3 := graph.Gradient(graph.ReduceAllSum(d2), x)[0]
			return []*graph.Node{y, d1, d2, d3}
		})
		res := e.MustCall(x, rt)
		vals := make([][]float64, len(res))
		for i, o := range res {
			vals[i] = tensors.MustCopyFlatData[float64](o)
		}
		return vals
	}
	want, got := run(false), run(true)
	for q, name := range []string{"value", "first derivative", "second derivative", "third derivative"} {
		scale := 0.0
		for _, v := range want[q] {
			scale = math.Max(scale, math.Abs(v))
		}
		for i := range want[q] {
			if d := math.Abs(got[q][i] - want[q][i]); !(d <= 1e-12*scale) {
				t.Errorf("%s at x=%g: %.15g, autodiff gives %.15g", name, xs[i], got[q][i], want[q][i])
			}
		}
	}
	// The first derivative is the sigmoid, exactly 1/2 at 0.
	if d := got[1][0] / r[0]; d != 0.5 {
		t.Errorf("softplus'(0) = %g, want 0.5", d)
	}
}
