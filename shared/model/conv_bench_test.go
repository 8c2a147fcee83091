package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Convolution benchmarks at the size of a WRN group-2 layer of the ART
// workload: a 3x3 kernel, 32 -> 64 channels, 32x32 inputs, batch 64.
//
//	GOEXPERIMENT=simd go test -run '^$' -bench Conv3x3 -benchtime 3x ./shared/model/
//
// FLOPs are counted as matrix products of the direct convolution: one
// product is 2*N*Ho*Wo*k*k*Cin*Cout; forward + backward (dx and dW) is three.
const (
	benchConvN, benchConvHW, benchConvCin, benchConvCout, benchConvK = 64, 32, 32, 64, 3
)

// benchConvs are the formulations compared: auto is whatever the models use
// on the benchmark's backend (logged; TestAutoConvIsGatherOnTheGoBackend pins
// the Go backend's choice), and gather-autodiff is ConvGather's previous
// form (a pixel-by-pixel gather from the unpadded input) with the gradients
// GoMLX's autodiff derives instead of ConvGather's hand-written ones.
var benchConvs = []struct {
	name string
	conv func(x, w *graph.Node, stride, pad int) *graph.Node
}{
	{"auto", func(x, w *graph.Node, s, p int) *graph.Node { return Conv2D(x, w, s, p, ConvAuto) }},
	{"gather", func(x, w *graph.Node, s, p int) *graph.Node { return Conv2D(x, w, s, p, ConvGather) }},
	{"gather-autodiff", convGatherAutodiff},
	{"slices", func(x, w *graph.Node, s, p int) *graph.Node { return Conv2D(x, w, s, p, ConvSlices) }},
	{"native", func(x, w *graph.Node, s, p int) *graph.Node { return Conv2D(x, w, s, p, ConvNative) }},
}

// benchConvInputs returns x [N,H,W,Cin], a kernel [k,k,Cin,Cout] and an
// upstream gradient r [N,Ho,Wo,Cout] for the given stride, in float32.
func benchConvInputs(stride int) (x, w, r *tensors.Tensor, ho int) {
	rng := rand.New(rand.NewPCG(7, 8))
	fill := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	n, h, cin, cout, k := benchConvN, benchConvHW, benchConvCin, benchConvCout, benchConvK
	ho = ConvOutputSize(h, k, stride, 1)
	x = tensors.FromFlatDataAndDimensions(fill(n*h*h*cin, 1), n, h, h, cin)
	w = tensors.FromFlatDataAndDimensions(fill(k*k*cin*cout, 0.1), k, k, cin, cout)
	r = tensors.FromFlatDataAndDimensions(fill(n*ho*ho*cout, 1), n, ho, ho, cout)
	return x, w, r, ho
}

// runConvBench times exec on (x, w, r) and reports GFLOP/s for the given
// number of direct-convolution matrix products per call.
func runConvBench(b *testing.B, e *graph.Exec, x, w, r *tensors.Tensor, products, ho int) {
	b.Helper()
	call := func() {
		out, err := e.Call(x, w, r)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range out {
			o.MustFinalizeAll()
		}
	}
	call() // compile
	b.ResetTimer()
	for range b.N {
		call()
	}
	flops := float64(products) * 2 * benchConvN * float64(ho*ho) *
		benchConvK * benchConvK * benchConvCin * benchConvCout
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv3x3 times forward + backward (output, dx and dW for the
// upstream gradient r) of each formulation, at stride 1 and 2.
func BenchmarkConv3x3(b *testing.B) {
	backend := testBackend(b)
	for _, stride := range []int{1, 2} {
		b.Logf("stride %d: auto is %s on the %q backend", stride, ResolveConv(ConvAuto, backend, benchConvK, stride), backend)
		x, w, r, ho := benchConvInputs(stride)
		for _, c := range benchConvs {
			b.Run(fmt.Sprintf("impl=%s/stride=%d", c.name, stride), func(b *testing.B) {
				e := graph.MustNewExec(backend, func(x, w, r *graph.Node) []*graph.Node {
					y := c.conv(x, w, stride, 1)
					g := graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x, w)
					return []*graph.Node{y, g[0], g[1]}
				})
				runConvBench(b, e, x, w, r, 3, ho)
			})
		}
	}
}

// BenchmarkConv3x3DoubleBackprop times the pattern of the ART loss on one
// convolution: the input gradient gx of sum(r*y^2/2), then the gradient of
// |gx|^2/2 with respect to the kernel. That is five matrix products: y, dx,
// and in the second pass the kernel gradient through dx, the gradient
// through the upstream y*r, and the kernel gradient through y.
func BenchmarkConv3x3DoubleBackprop(b *testing.B) {
	backend := testBackend(b)
	for _, stride := range []int{1, 2} {
		x, w, r, ho := benchConvInputs(stride)
		for _, c := range benchConvs {
			b.Run(fmt.Sprintf("impl=%s/stride=%d", c.name, stride), func(b *testing.B) {
				e := graph.MustNewExec(backend, func(x, w, r *graph.Node) []*graph.Node {
					y := c.conv(x, w, stride, 1)
					gx := graph.Gradient(graph.ReduceAllSum(graph.Mul(graph.Square(y), graph.MulScalar(r, 0.5))), x)[0]
					gw := graph.Gradient(graph.MulScalar(graph.ReduceAllSum(graph.Square(gx)), 0.5), w)[0]
					return []*graph.Node{gw}
				})
				runConvBench(b, e, x, w, r, 5, ho)
			})
		}
	}
}
