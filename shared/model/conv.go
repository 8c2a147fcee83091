package model

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// ConvImpl selects how a 2-D convolution is expressed as graph operations.
// All formulations compute the same function and are linear in both the
// input and the kernel, so their gradients are differentiable again (the
// ART loss needs second derivatives). They differ only in speed per backend.
type ConvImpl int

const (
	// ConvAuto picks the fastest formulation measured for the graph's backend
	// (see ResolveConv).
	ConvAuto ConvImpl = iota
	// ConvGather builds the im2col patch matrix with one Gather from the
	// unpadded NHWC input (clamped indices times a 0/1 padding mask), then one
	// matrix product. Fastest on GoMLX's pure-Go backend.
	ConvGather
	// ConvSlices pads the input and concatenates k*k strided slices into the
	// patch matrix, then one matrix product.
	ConvSlices
	// ConvNative uses GoMLX's Convolve (ConvGeneral). Fastest on XLA; on the
	// pure-Go backend it ran at about 1 GFLOP/s here.
	ConvNative
)

var convImplNames = []string{"auto", "gather", "slices", "native"}

// String returns the flag name of the formulation.
func (c ConvImpl) String() string {
	if c < 0 || int(c) >= len(convImplNames) {
		return fmt.Sprintf("ConvImpl(%d)", int(c))
	}
	return convImplNames[c]
}

// ParseConvImpl parses a flag value: auto, gather, slices or native.
func ParseConvImpl(s string) (ConvImpl, error) {
	for i, n := range convImplNames {
		if strings.EqualFold(s, n) {
			return ConvImpl(i), nil
		}
	}
	return 0, fmt.Errorf("unknown convolution formulation %q (want one of %s)", s, strings.Join(convImplNames, ", "))
}

// ResolveConv returns the formulation ConvAuto stands for on the given
// backend, for a kernel of size k and the given stride:
//   - "go" (GoMLX's pure-Go backend): ConvGather;
//   - "onnx": ConvNative for stride-1 kernels, ConvGather otherwise (the
//     gradient of a strided Convolve cannot run on ONNX Runtime);
//   - anything else (XLA): ConvNative.
//
// 1x1 convolutions never reach here: they are a strided slice and a matrix
// product on every backend (which also avoids a GoMLX bug in the second
// derivative of a 1x1 strided Convolve).
func ResolveConv(impl ConvImpl, backend compute.Backend, k, stride int) ConvImpl {
	if impl != ConvAuto {
		return impl
	}
	name := ""
	if backend != nil {
		// String is the registered short name ("go", "xla", "onnx");
		// Name is descriptive ("Go Backend").
		name = strings.ToLower(backend.String())
	}
	switch {
	case name == "go":
		return ConvGather
	case strings.HasPrefix(name, "onnx"):
		if stride == 1 {
			return ConvNative
		}
		return ConvGather
	default:
		return ConvNative
	}
}

// ConvOutputSize is the spatial output size of a convolution with the given
// input size, kernel size, stride and symmetric zero padding (PyTorch's rule).
func ConvOutputSize(in, k, stride, pad int) int {
	return (in+2*pad-k)/stride + 1
}

// Conv2D convolves x, shaped [N, H, W, Cin], with kernel, shaped
// [k, k, Cin, Cout] (HWIO), using the given stride and symmetric zero padding
// pad on each spatial side, without bias. The output is
// [N, Ho, Wo, Cout] with Ho = ConvOutputSize(H, k, stride, pad).
func Conv2D(x, kernel *graph.Node, stride, pad int, impl ConvImpl) *graph.Node {
	xd, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	if len(xd) != 4 || len(kd) != 4 || kd[0] != kd[1] || kd[2] != xd[3] {
		panic(fmt.Errorf("Conv2D: input %v and kernel %v do not match (want [N,H,W,C] and [k,k,C,Cout])", xd, kd))
	}
	k := kd[0]
	if k == 1 && pad == 0 {
		return conv1x1(x, kernel, stride)
	}
	switch ResolveConv(impl, x.Graph().Backend(), k, stride) {
	case ConvGather:
		return convGather(x, kernel, stride, pad)
	case ConvSlices:
		return convSlices(x, kernel, stride, pad)
	default:
		return graph.Convolve(x, kernel).Strides(stride).
			PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).Done()
	}
}

// conv1x1 is a strided slice followed by a matrix product over channels.
func conv1x1(x, kernel *graph.Node, stride int) *graph.Node {
	if stride > 1 {
		x = graph.Slice(x, graph.AxisRange(), graph.AxisRange().Stride(stride),
			graph.AxisRange().Stride(stride), graph.AxisRange())
	}
	d := x.Shape().Dimensions
	cout := kernel.Shape().Dimensions[3]
	w := graph.Reshape(kernel, d[3], cout)
	y := graph.DotGeneral(graph.Reshape(x, d[0]*d[1]*d[2], d[3]), []int{1}, nil, w, []int{0}, nil)
	return graph.Reshape(y, d[0], d[1], d[2], cout)
}

// patchProduct multiplies the im2col patches [N, Ho, Wo, k*k*C] by the kernel.
func patchProduct(patches, kernel *graph.Node, n, ho, wo int) *graph.Node {
	kd := kernel.Shape().Dimensions
	rows := kd[0] * kd[1] * kd[2]
	w := graph.Reshape(kernel, rows, kd[3])
	y := graph.DotGeneral(graph.Reshape(patches, n*ho*wo, rows), []int{1}, nil, w, []int{0}, nil)
	return graph.Reshape(y, n, ho, wo, kd[3])
}

// convGather: one Gather of all k*k taps from the flattened unpadded input
// with one zero row appended: out-of-bounds taps read that row, so no padded
// copy of the image is made and no mask multiply is needed (a broadcasting
// multiply by a [1,Ho,Wo,k*k,1] mask took the backend's slow generic path
// and was 30% of an ART step).
func convGather(x, kernel *graph.Node, stride, pad int) *graph.Node {
	g := x.Graph()
	d := x.Shape().Dimensions
	n, h, w, c := d[0], d[1], d[2], d[3]
	k := kernel.Shape().Dimensions[0]
	ho, wo := ConvOutputSize(h, k, stride, pad), ConvOutputSize(w, k, stride, pad)
	taps := k * k
	zeroRow := int32(n * h * w)
	idx := make([]int32, n*ho*wo*taps)
	anyPad := false
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					r, col := oy*stride-pad+i, ox*stride-pad+j
					t := (oy*wo+ox)*taps + i*k + j
					inside := r >= 0 && r < h && col >= 0 && col < w
					anyPad = anyPad || !inside
					for b := 0; b < n; b++ {
						if inside {
							idx[b*ho*wo*taps+t] = int32(b*h*w + r*w + col)
						} else {
							idx[b*ho*wo*taps+t] = zeroRow
						}
					}
				}
			}
		}
	}
	flat := graph.Reshape(x, n*h*w, c)
	if anyPad {
		flat = graph.Concatenate([]*graph.Node{flat, graph.Zeros(g, shapes.Make(x.DType(), 1, c))}, 0)
	}
	indices := graph.Reshape(graph.Const(g, idx), n, ho, wo, taps, 1)
	patches := graph.Gather(flat, indices) // [n, ho, wo, taps, c]
	return patchProduct(patches, kernel, n, ho, wo)
}

// convSlices: zero-pad, then concatenate the k*k strided views on channels.
func convSlices(x, kernel *graph.Node, stride, pad int) *graph.Node {
	d := x.Shape().Dimensions
	n, h, w := d[0], d[1], d[2]
	k := kernel.Shape().Dimensions[0]
	ho, wo := ConvOutputSize(h, k, stride, pad), ConvOutputSize(w, k, stride, pad)
	xp := x
	if pad > 0 {
		xp = graph.Pad(x, graph.ScalarZero(x.Graph(), x.DType()),
			compute.PadAxis{}, compute.PadAxis{Start: pad, End: pad},
			compute.PadAxis{Start: pad, End: pad}, compute.PadAxis{})
	}
	views := make([]*graph.Node, 0, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			views = append(views, graph.Slice(xp, graph.AxisRange(),
				graph.AxisRange(i, i+stride*(ho-1)+1).Stride(stride),
				graph.AxisRange(j, j+stride*(wo-1)+1).Stride(stride),
				graph.AxisRange()))
		}
	}
	return patchProduct(graph.Concatenate(views, 3), kernel, n, ho, wo)
}
