package model

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

// ONNX Runtime (GoMLX's compute-onnx backend, natively and in the browser)
// runs GoMLX's Convolve at stride 1 and its gradients, but not the gradient
// of a strided Convolve (an input-dilated convolution: "input dilations > 1
// not supported by ONNX Conv"), nor the gradient of a strided Slice (a Pad
// with interior padding), nor a GatherSlices of more than one row. The
// formulation here uses none of those: every op and every derivative of it,
// to any order, is a stride-1 Convolve, Reshape, Transpose, DotGeneral, or a
// Slice or Pad without stride or interior padding.

// convSubsample computes a convolution with stride s > 1 as the stride-1
// convolution (GoMLX's Convolve, same padding) followed by keeping every s-th
// output row and column (subsample). That computes s*s times the strided
// convolution's products; the space-to-depth rewrite (a 2x2 convolution on
// 2x2 pixel blocks, 16/9 of them for 3x3 stride 2) would cost less, but
// GoMLX v0.28.16 gets the input gradient of an even-sized Convolve kernel
// wrong (shifted by one pixel), so it is not used. Unpadded 1x1 kernels
// subsample the input instead and take one matrix product.
func convSubsample(x, kernel *graph.Node, stride, pad int) *graph.Node {
	k := kernel.Shape().Dimensions[0]
	if k == 1 && pad == 0 {
		return conv1x1(subsample(x, stride), kernel, 1)
	}
	y := graph.Convolve(x, kernel).Strides(1).PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).Done()
	if stride == 1 {
		return y
	}
	// Rows (ho-1)*s+1 .. of the stride-1 output are not read; crop them so
	// that subsample's blocks end where the strided output does.
	d := x.Shape().Dimensions
	ho, wo := ConvOutputSize(d[1], k, stride, pad), ConvOutputSize(d[2], k, stride, pad)
	yd := y.Shape().Dimensions
	y = padOrCrop(y, 0, (ho-1)*stride+1-yd[1], 0, (wo-1)*stride+1-yd[2])
	return subsample(y, stride)
}

// subsample returns x[:, ::s, ::s, :] for x [N,H,W,C] without a strided
// Slice: the input, zero-padded to a multiple of s, is reshaped to
// [N, H/s, s, W/s, s, C] and the first pixel of each block is sliced out.
func subsample(x *graph.Node, s int) *graph.Node {
	d := x.Shape().Dimensions
	n, h, w, c := d[0], d[1], d[2], d[3]
	ho, wo := (h+s-1)/s, (w+s-1)/s
	xp := padOrCrop(x, 0, ho*s-h, 0, wo*s-w)
	b := graph.Reshape(xp, n, ho, s, wo, s, c)
	b = graph.Slice(b, graph.AxisRange(), graph.AxisRange(), graph.AxisRange(0, 1),
		graph.AxisRange(), graph.AxisRange(0, 1), graph.AxisRange())
	return graph.Reshape(b, n, ho, wo, c)
}

// padOrCrop zero-pads x [N,H,W,C] by top/left and, where bottom/right are
// negative, crops that many rows/columns at the end instead of padding.
func padOrCrop(x *graph.Node, top, bottom, left, right int) *graph.Node {
	d := x.Shape().Dimensions
	if top > 0 || bottom > 0 || left > 0 || right > 0 {
		x = graph.Pad(x, graph.ScalarZero(x.Graph(), x.DType()), compute.PadAxis{},
			compute.PadAxis{Start: top, End: max(bottom, 0)}, compute.PadAxis{Start: left, End: max(right, 0)}, compute.PadAxis{})
	}
	if bottom < 0 || right < 0 {
		x = graph.Slice(x, graph.AxisRange(), graph.AxisRange(0, top+d[1]+min(bottom, 0)),
			graph.AxisRange(0, left+d[2]+min(right, 0)), graph.AxisRange())
	}
	return x
}
