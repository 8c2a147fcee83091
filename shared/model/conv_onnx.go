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
// convolution's products; convSpaceToDepth (below, the default on ONNX
// Runtime) computes 16/9 of them for 3x3 at stride 2. Unpadded 1x1 kernels
// subsample the input instead and take one matrix product (both
// formulations).
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

// convSpaceToDepth computes a strided convolution as a stride-1 one on
// s x s pixel blocks. With i = s*a + r, y[o] = sum_i xpad[s*o + i] w[i] =
// sum_a B[o + a][r] w'[a][r], where B is the zero-padded input with each
// s x s block of pixels stacked on channels (space to depth) and w' the
// kernel, zero-padded to a multiple of s, rearranged the same way: a
// ceil(k/s)-sized stride-1 convolution over s*s*Cin channels. For 3x3 at
// stride 2 that is 16/9 of the strided convolution's products, where
// convSubsample computes 4x. The rearrangements are reshapes, transposes and
// unstrided pads, so autodiff differentiates them to any order; the block
// convolution (an even 2x2 kernel, whose input gradient GoMLX v0.28.16
// computes shifted by a pixel) has hand-written gradients (nativeConv).
func convSpaceToDepth(x, kernel *graph.Node, stride, pad int) *graph.Node {
	d, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	n, h, w, cin := d[0], d[1], d[2], d[3]
	k, cout, s := kd[0], kd[3], stride
	ho, wo := ConvOutputSize(h, k, s, pad), ConvOutputSize(w, k, s, pad)
	ka := (k + s - 1) / s
	hb, wb := ho+ka-1, wo+ka-1
	xp := padOrCrop(x, pad, s*hb-h-pad, pad, s*wb-w-pad)
	b := graph.Reshape(xp, n, hb, s, wb, s, cin)
	b = graph.TransposeAllAxes(b, 0, 1, 3, 2, 4, 5)
	b = graph.Reshape(b, n, hb, wb, s*s*cin)
	wk := kernel
	if ka*s > k {
		wk = graph.Pad(kernel, graph.ScalarZero(kernel.Graph(), kernel.DType()),
			compute.PadAxis{End: ka*s - k}, compute.PadAxis{End: ka*s - k}, compute.PadAxis{}, compute.PadAxis{})
	}
	wk = graph.Reshape(wk, ka, s, ka, s, cin, cout)
	wk = graph.TransposeAllAxes(wk, 0, 2, 1, 3, 4, 5)
	wk = graph.Reshape(wk, ka, ka, s*s*cin, cout)
	return newNativeConv(b, wk).conv(b, wk)
}

// nativeConv is an unpadded stride-1 Convolve of x [N,H,W,Cin] by w
// [k,k,Cin,Cout] with the gradients written out as Convolves, so that they
// are right for even kernels too. The three products are patchConv's
// (conv, its input gradient convT and its kernel gradient kernelGrad), each
// the gradient of the others, so the family stays closed under
// differentiation to any order (see withGradients).
type nativeConv struct {
	k, ho, wo int // kernel size and output size
}

func newNativeConv(x, kernel *graph.Node) *nativeConv {
	d, k := x.Shape().Dimensions, kernel.Shape().Dimensions[0]
	return &nativeConv{k: k, ho: d[1] - k + 1, wo: d[2] - k + 1}
}

// conv is y[n,y,x,o] = sum_{i,j,c} x[n,y+i,x+j,c] w[i,j,c,o].
func (c *nativeConv) conv(x, w *graph.Node) *graph.Node {
	return withGradients(x, w, stopped(func(x, w *graph.Node) *graph.Node {
		return graph.Convolve(x, w).Strides(1).NoPadding().Done()
	}),
		func(v *graph.Node) *graph.Node { return c.convT(v, w) },
		func(v *graph.Node) *graph.Node { return c.kernelGrad(x, v) })
}

// convT is the input gradient of conv for the output gradient v
// [N,Ho,Wo,Cout]: the full correlation of v with the kernel turned by 180
// degrees and its channels swapped.
func (c *nativeConv) convT(v, w *graph.Node) *graph.Node {
	return withGradients(v, w, stopped(func(v, w *graph.Node) *graph.Node {
		// GoMLX's autodiff treats nodes computed from a StopGradient as
		// differentiable, and would set up this Convolve's own reverse.
		wr := graph.StopGradient(graph.Reverse(graph.TransposeAllAxes(w, 0, 1, 3, 2), 0, 1))
		p := c.k - 1
		return graph.Convolve(v, wr).Strides(1).PaddingPerDim([][2]int{{p, p}, {p, p}}).Done()
	}),
		func(u *graph.Node) *graph.Node { return c.conv(u, w) },
		func(u *graph.Node) *graph.Node { return c.kernelGrad(u, v) })
}

// kernelGrad is the kernel gradient of conv at x for the output gradient v:
// dw[i,j,c,o] = sum_{n,y,x} x[n,y+i,x+j,c] v[n,y,x,o], one matrix product
// per kernel tap over the tap's window of x. (As one Convolve, with the
// channels as batch and v as the kernel, GoMLX cannot set up its reverse,
// which autodiff builds on the way through.)
func (c *nativeConv) kernelGrad(x, v *graph.Node) *graph.Node {
	return withGradients(x, v, stopped(func(x, v *graph.Node) *graph.Node {
		d, vd := x.Shape().Dimensions, v.Shape().Dimensions
		m := vd[0] * vd[1] * vd[2]
		vm := graph.Reshape(v, m, vd[3])
		taps := make([]*graph.Node, 0, c.k*c.k)
		for i := range c.k {
			for j := range c.k {
				xs := graph.Slice(x, graph.AxisRange(), graph.AxisRange(i, i+c.ho), graph.AxisRange(j, j+c.wo), graph.AxisRange())
				taps = append(taps, graph.DotGeneral(graph.Reshape(xs, m, d[3]), []int{0}, nil, vm, []int{0}, nil))
			}
		}
		return graph.Reshape(graph.Stack(taps, 0), c.k, c.k, d[3], vd[3])
	}),
		func(o *graph.Node) *graph.Node { return c.convT(v, o) },
		func(o *graph.Node) *graph.Node { return c.conv(x, o) })
}

// stopped wraps one of nativeConv's products for withGradients: GoMLX's
// autodiff still walks through f to reach withGradients' input identities
// (whose gradients it then replaces), and setting up Convolve's own reverse
// fails for some of these shapes, so f sees its inputs through StopGradient
// and keepOnPath keeps them on the output's path.
func stopped(f func(a, b *graph.Node) *graph.Node) func(a, b *graph.Node) *graph.Node {
	return func(a, b *graph.Node) *graph.Node {
		return keepOnPath(f(graph.StopGradient(a), graph.StopGradient(b)), a, b)
	}
}
