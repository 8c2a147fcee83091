package model

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
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
	// ConvGather builds the im2col patch matrix with one gather from the
	// zero-padded NHWC input, then one matrix product, and gives the
	// convolution hand-written gradients that are again such gathers and
	// products, in the layouts the Go backend's GEMM takes (see patchConv).
	// Fastest on GoMLX's pure-Go backend.
	ConvGather
	// ConvSlices pads the input and concatenates k*k strided slices into the
	// patch matrix, then one matrix product.
	ConvSlices
	// ConvNative uses GoMLX's Convolve (ConvGeneral). Fastest on XLA; on the
	// pure-Go backend it ran at about 1 GFLOP/s here.
	ConvNative
	// ConvSubsample computes a strided convolution as a stride-1 Convolve
	// followed by subsampling (stride-1 ones are ConvNative): what ONNX
	// Runtime can differentiate (see convSubsample).
	ConvSubsample
	// ConvSpaceToDepth computes a strided convolution as a stride-1 one on
	// s x s pixel blocks (16/9 of the products for 3x3 at stride 2, where
	// ConvSubsample computes 4x), with hand-written gradients that are
	// again stride-1 Convolves: the fastest that ONNX Runtime can
	// differentiate (see convSpaceToDepth).
	ConvSpaceToDepth
)

var convImplNames = []string{"auto", "gather", "slices", "native", "subsample", "s2d"}

// String returns the flag name of the formulation.
func (c ConvImpl) String() string {
	if c < 0 || int(c) >= len(convImplNames) {
		return fmt.Sprintf("ConvImpl(%d)", int(c))
	}
	return convImplNames[c]
}

// ParseConvImpl parses a flag value: auto, gather, slices, native, subsample or s2d.
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
//   - "onnx": ConvNative for stride-1 kernels, ConvSpaceToDepth otherwise
//     (ONNX Runtime runs neither the gradient of a strided Convolve nor
//     ConvGather's multi-row gathers);
//   - anything else (XLA): ConvNative.
//
// Unpadded 1x1 convolutions are a strided slice and a matrix product on
// every backend (which also avoids a GoMLX bug in the second derivative of a
// 1x1 strided Convolve); where this returns ConvGather they get its
// hand-written gradients too.
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
		return ConvSpaceToDepth
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
	resolved := ResolveConv(impl, x.Graph().Backend(), k, stride)
	if k == 1 && pad == 0 {
		switch resolved {
		case ConvGather:
			return newPatchConv(x, kernel, stride, pad).conv(x, kernel)
		case ConvSubsample, ConvSpaceToDepth:
			return convSubsample(x, kernel, stride, pad)
		}
		return conv1x1(x, kernel, stride)
	}
	switch resolved {
	case ConvSubsample:
		return convSubsample(x, kernel, stride, pad)
	case ConvSpaceToDepth:
		return convSpaceToDepth(x, kernel, stride, pad)
	case ConvGather:
		return newPatchConv(x, kernel, stride, pad).conv(x, kernel)
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

// convGatherAutodiff is the gather formulation differentiated by GoMLX's
// autodiff (the reference for ConvGather's hand-written gradients): one
// Gather of all k*k taps from the flattened unpadded input with one zero row
// appended, so out-of-bounds taps read that row, then one matrix product.
func convGatherAutodiff(x, kernel *graph.Node, stride, pad int) *graph.Node {
	c := newPatchConv(x, kernel, stride, pad)
	if c.plainSlice() {
		return conv1x1(x, kernel, stride)
	}
	return patchProduct(c.pixelPatches(x), kernel, c.n, c.ho, c.wo)
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

// patchConv is the geometry of one convolution and the three products a
// convolution and all its derivatives are made of. With P the im2col map
// (x -> patch matrix [M, T*Cin], M = N*Ho*Wo rows, T = k*k taps), P^T its
// adjoint (patch rows added back onto the pixels they were read from) and W
// the kernel as a [T*Cin, Cout] matrix:
//
//	conv(x, w)       = P(x) W        the forward pass       [N,Ho,Wo,Cout]
//	convT(v, w)      = P^T(v W^T)    the input gradient     [N,H,W,Cin]
//	kernelGrad(x, v) = P(x)^T v      the kernel gradient    [k,k,Cin,Cout]
//
// Each is bilinear, and the gradients of each are the other two (with v, u
// and o the upstream gradients of conv, convT and kernelGrad):
//
//	conv:       dx = convT(v, w),  dw = kernelGrad(x, v)
//	convT:      dv = conv(u, w),   dw = kernelGrad(u, v)
//	kernelGrad: dx = convT(v, o),  dv = conv(x, o)
//
// so giving each product those gradients (see withGradients) keeps the
// family closed under differentiation to any order, which the ART loss
// needs. Left to GoMLX's autodiff, the kernel gradient P(x)^T v contracts
// the M rows of two matrices that have them as leading axis; the Go
// backend's GEMM only takes the contracted axis last on its left operand,
// so it transposed the whole patch matrix and v (a quarter of an ART step,
// made worse by the power-of-two row count). Here every product is a GEMM
// in a layout the backend takes.
type patchConv struct {
	n, h, w, cin, cout, k, stride, pad, ho, wo int

	// parts is how many equal groups of images the gathers, scatters and
	// their products are split into (see ConvBatchParts).
	parts int

	// Gather indices, built once per graph and shared by all products.
	pixelIdx, rowStarts *graph.Node
	windows             []*graph.Node // per part
	partStarts          []*graph.Node // per part: its first row of [M, ...]
	pixelPad            bool          // whether pixelIdx uses the appended zero row
}

// ConvBatchParts is how many groups of images ConvGather splits each patch
// gather, col2im scatter and their matrix products into. The Go backend runs
// Gather and Scatter on one core, but runs independent graph nodes
// concurrently: split by images, the groups' copies run side by side, and
// each group's patch matrix (9x its input) is alive for a shorter time. The
// forward pass and input gradients are the same sums in the same order for
// any value; the kernel gradient becomes a sum of per-group products, which
// changes its last bits. A batch that does not divide evenly uses the
// largest divisor of its size below this. 4 was the best measured on 2
// cores (docs/performance.md: IG-100 +28%, the WRN-16-4 ART step's peak
// memory 7.3 -> 4.7 GB). In WebAssembly, which has one thread, it is 1.
var ConvBatchParts = defaultConvBatchParts()

func defaultConvBatchParts() int {
	if runtime.GOARCH == "wasm" {
		return 1
	}
	return 4
}

func newPatchConv(x, kernel *graph.Node, stride, pad int) *patchConv {
	d, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	c := &patchConv{n: d[0], h: d[1], w: d[2], cin: d[3], cout: kd[3], k: kd[0], stride: stride, pad: pad}
	c.ho, c.wo = ConvOutputSize(c.h, c.k, stride, pad), ConvOutputSize(c.w, c.k, stride, pad)
	c.setParts(ConvBatchParts)
	return c
}

// setParts splits the batch into the most groups, up to p, that divide it.
// A 1x1 unpadded convolution has no gather to split.
func (c *patchConv) setParts(p int) {
	p = max(1, min(p, c.n))
	for c.n%p != 0 {
		p--
	}
	if c.plainSlice() {
		p = 1
	}
	c.parts = p
	c.windows = make([]*graph.Node, p)
	c.partStarts = make([]*graph.Node, p)
}

// partImages is the number of images in each part.
func (c *patchConv) partImages() int { return c.n / c.parts }

// partRows is the number of patch-matrix rows of each part.
func (c *patchConv) partRows() int { return c.rows() / c.parts }

// rowPart returns part j's rows of m [M, C] (one contiguous block, copied
// by a single GatherSlices: Slice copies element by element).
func (c *patchConv) rowPart(m *graph.Node, j int) *graph.Node {
	if c.parts == 1 {
		return m
	}
	if c.partStarts[j] == nil {
		c.partStarts[j] = graph.ConstTensor(m.Graph(), tensors.FromFlatDataAndDimensions([]int32{int32(j * c.partRows())}, 1))
	}
	return graph.GatherSlices(m, []int{0}, c.partStarts[j], []int{c.partRows()}, false)
}

// joinParts concatenates the parts' results along axis 0.
func joinParts(parts []*graph.Node) *graph.Node {
	if len(parts) == 1 {
		return parts[0]
	}
	return graph.Concatenate(parts, 0)
}

// plainSlice reports whether P is a (strided) slice of x, as for 1x1
// unpadded kernels, rather than a gather.
func (c *patchConv) plainSlice() bool { return c.k == 1 && c.pad == 0 }

func (c *patchConv) rows() int { return c.n * c.ho * c.wo }

func (c *patchConv) taps() int { return c.k * c.k }

// windowStarts returns part j's GatherSlices start rows [N/parts,Ho,Wo,k,1]
// into the flattened zero-padded input [N*(H+2p)*(W+2p), Cin]: for output
// pixel (oy, ox) and kernel row i, the first of the k adjacent pixels
// (oy*s+i, ox*s .. ox*s+k-1) of the padded image that the row reads. Part
// 0's rows are also its starts into the part's own padded images.
func (c *patchConv) windowStarts(g *graph.Graph, j int) *graph.Node {
	if c.windows[j] != nil {
		return c.windows[j]
	}
	hp, wp := c.h+2*c.pad, c.w+2*c.pad
	np := c.partImages()
	idx := make([]int32, c.partRows()*c.k)
	for b := 0; b < np; b++ {
		for oy := 0; oy < c.ho; oy++ {
			for ox := 0; ox < c.wo; ox++ {
				at := ((b*c.ho+oy)*c.wo + ox) * c.k
				for i := 0; i < c.k; i++ {
					idx[at+i] = int32((j*np+b)*hp*wp + (oy*c.stride+i)*wp + ox*c.stride)
				}
			}
		}
	}
	c.windows[j] = graph.ConstTensor(g, tensors.FromFlatDataAndDimensions(idx, np, c.ho, c.wo, c.k, 1))
	return c.windows[j]
}

// paddedRows returns x [N,H,W,Cin] zero-padded and flattened to
// [N*(H+2p)*(W+2p), Cin], the rows the patch gathers read.
func (c *patchConv) paddedRows(x *graph.Node) *graph.Node {
	if c.pad > 0 {
		x = graph.Pad(x, graph.ScalarZero(x.Graph(), x.DType()), compute.PadAxis{},
			compute.PadAxis{Start: c.pad, End: c.pad}, compute.PadAxis{Start: c.pad, End: c.pad}, compute.PadAxis{})
	}
	return graph.Reshape(x, c.n*(c.h+2*c.pad)*(c.w+2*c.pad), c.cin)
}

// patchParts returns P(x), the im2col matrix [M, T*Cin] of x [N,H,W,Cin],
// as its parts' row blocks [M/parts, T*Cin]. The k taps of a kernel row are
// adjacent pixels of the zero-padded image, so one GatherSlices copies each
// kernel row's k*Cin values in one piece: a third of the copies (of three
// times the size) of gathering pixel by pixel.
func (c *patchConv) patchParts(x *graph.Node) []*graph.Node {
	if c.plainSlice() {
		if c.stride > 1 {
			x = graph.Slice(x, graph.AxisRange(), graph.AxisRange().Stride(c.stride),
				graph.AxisRange().Stride(c.stride), graph.AxisRange())
		}
		return []*graph.Node{graph.Reshape(x, c.rows(), c.cin)}
	}
	flat := c.paddedRows(x)
	ps := make([]*graph.Node, c.parts)
	for j := range ps {
		p := graph.GatherSlices(flat, []int{0}, c.windowStarts(x.Graph(), j), []int{c.k}, false)
		ps[j] = graph.Reshape(p, c.partRows(), c.taps()*c.cin)
	}
	return ps
}

// unpatch is P^T for one part: it adds the rows of da [M/parts, T*Cin] back
// onto the pixels of the part's images [N/parts,H,W,Cin] they were read
// from, by one window ScatterSum into the padded images (the adjoint of
// patchParts' GatherSlices). GoMLX cannot differentiate a window scatter, so
// da enters it through StopGradient: callers provide the gradient themselves
// (convT does, through withGradients).
func (c *patchConv) unpatch(da *graph.Node) *graph.Node {
	if c.plainSlice() {
		dx := graph.Reshape(da, c.n, c.ho, c.wo, c.cin)
		if c.stride == 1 {
			return dx
		}
		// The adjoint of the strided slice: spread the rows back out.
		spread := func(size, out int) compute.PadAxis {
			return compute.PadAxis{Interior: c.stride - 1, End: size - (c.stride*(out-1) + 1)}
		}
		return graph.Pad(dx, graph.ScalarZero(da.Graph(), da.DType()),
			compute.PadAxis{}, spread(c.h, c.ho), spread(c.w, c.wo), compute.PadAxis{})
	}
	g := da.Graph()
	np := c.partImages()
	hp, wp := c.h+2*c.pad, c.w+2*c.pad
	zeros := graph.Zeros(g, shapes.Make(da.DType(), np*hp*wp, c.cin))
	upd := graph.StopGradient(graph.Reshape(da, np, c.ho, c.wo, c.k, c.k, c.cin))
	sum := graph.BackendScatterSum(zeros, c.windowStarts(g, 0), upd, 4, []int{4, 5}, nil, []int{0}, false, false)
	if c.pad == 0 {
		return graph.Reshape(sum, np, c.h, c.w, c.cin)
	}
	return c.crop(sum)
}

// crop returns the interior [N/parts,H,W,C] of one part's flattened padded
// images [N/parts*(H+2p)*(W+2p), C], one image row per GatherSlices copy
// (Slice copies element by element).
func (c *patchConv) crop(padded *graph.Node) *graph.Node {
	g := padded.Graph()
	np := c.partImages()
	if c.rowStarts == nil {
		hp, wp := c.h+2*c.pad, c.w+2*c.pad
		idx := make([]int32, np*c.h)
		for b := 0; b < np; b++ {
			for r := 0; r < c.h; r++ {
				idx[b*c.h+r] = int32(b*hp*wp + (r+c.pad)*wp + c.pad)
			}
		}
		c.rowStarts = graph.ConstTensor(g, tensors.FromFlatDataAndDimensions(idx, np, c.h, 1))
	}
	return graph.GatherSlices(padded, []int{0}, c.rowStarts, []int{c.w}, false)
}

// conv is the forward convolution of x [N,H,W,Cin] by w [k,k,Cin,Cout].
func (c *patchConv) conv(x, w *graph.Node) *graph.Node {
	return withGradients(x, w, func(x, w *graph.Node) *graph.Node {
		wm := graph.Reshape(w, c.taps()*c.cin, c.cout)
		ys := c.patchParts(x)
		for j, a := range ys {
			ys[j] = graph.DotGeneral(a, []int{1}, nil, wm, []int{0}, nil)
		}
		return graph.Reshape(joinParts(ys), c.n, c.ho, c.wo, c.cout)
	},
		func(v *graph.Node) *graph.Node { return c.convT(v, w) },
		func(v *graph.Node) *graph.Node { return c.kernelGrad(x, v) })
}

// convT is the transposed convolution: the gradient [N,H,W,Cin] with
// respect to the input of conv for the output gradient v [N,Ho,Wo,Cout].
// (Written without a scatter, as a gather of the output gradients that read
// each input pixel times the rotated kernel, it cost as much at stride 1
// with Cin = Cout, and more at stride 2 or when Cin < Cout.)
func (c *patchConv) convT(v, w *graph.Node) *graph.Node {
	return withGradients(v, w, func(v, w *graph.Node) *graph.Node {
		vm := graph.Reshape(v, c.rows(), c.cout)
		wm := graph.Reshape(w, c.taps()*c.cin, c.cout)
		dxs := make([]*graph.Node, c.parts)
		for j := range dxs {
			dxs[j] = c.unpatch(graph.DotGeneral(c.rowPart(vm, j), []int{1}, nil, wm, []int{1}, nil))
		}
		dx := joinParts(dxs)
		if c.plainSlice() {
			return dx
		}
		// unpatch stops autodiff at the scatter.
		return keepOnPath(dx, vm, wm)
	},
		func(u *graph.Node) *graph.Node { return c.conv(u, w) },
		func(u *graph.Node) *graph.Node { return c.kernelGrad(u, v) })
}

// kernelGrad is the gradient [k,k,Cin,Cout] with respect to the kernel of
// conv at input x for the output gradient v: P(x)^T v.
func (c *patchConv) kernelGrad(x, v *graph.Node) *graph.Node {
	return withGradients(x, v, func(x, v *graph.Node) *graph.Node {
		// Gather the patches again, after v exists, rather than reuse the
		// forward pass's: the backend merges identical gathers and would keep
		// every layer's patch matrix (9x its input) alive from the forward
		// pass to this gradient. The barrier is not differentiable; x and v
		// reach the output through keepOnPath below.
		as := c.patchParts(graph.SchedulingBarrier(graph.StopGradient(x), graph.StopGradient(v)))
		vm := graph.Reshape(v, c.rows(), c.cout)
		var dw *graph.Node
		for j, a := range as { // each part's product is a partial sum of dW
			vj := c.rowPart(vm, j)
			var d *graph.Node
			if c.cout <= c.taps()*c.cin {
				// dW^T = v^T P(x): transpose the narrower matrix, v.
				d = graph.DotGeneral(transposeRows(vj), []int{1}, nil, a, []int{0}, nil)
			} else {
				d = graph.DotGeneral(transposeRows(a), []int{1}, nil, vj, []int{0}, nil)
			}
			if dw == nil {
				dw = d
			} else {
				dw = graph.Add(dw, d)
			}
		}
		if c.cout <= c.taps()*c.cin {
			dw = graph.Transpose(dw, 0, 1)
		}
		return graph.Reshape(keepOnPath(dw, x, v), c.k, c.k, c.cin, c.cout)
	},
		func(o *graph.Node) *graph.Node { return c.convT(v, o) },
		func(o *graph.Node) *graph.Node { return c.conv(x, o) })
}

// pixelIndices returns the gather indices [N,Ho,Wo,T,1] of every tap into
// the flattened unpadded input (row N*H*W is the zero row for taps in the
// padding): convGatherAutodiff's formulation.
func (c *patchConv) pixelIndices(g *graph.Graph) *graph.Node {
	if c.pixelIdx != nil {
		return c.pixelIdx
	}
	taps := c.taps()
	zeroRow := int32(c.n * c.h * c.w)
	idx := make([]int32, c.rows()*taps)
	per := c.ho * c.wo * taps
	for oy := 0; oy < c.ho; oy++ {
		for ox := 0; ox < c.wo; ox++ {
			for i := 0; i < c.k; i++ {
				for j := 0; j < c.k; j++ {
					r, col := oy*c.stride-c.pad+i, ox*c.stride-c.pad+j
					t := (oy*c.wo+ox)*taps + i*c.k + j
					inside := r >= 0 && r < c.h && col >= 0 && col < c.w
					c.pixelPad = c.pixelPad || !inside
					for b := 0; b < c.n; b++ {
						if inside {
							idx[b*per+t] = int32(b*c.h*c.w + r*c.w + col)
						} else {
							idx[b*per+t] = zeroRow
						}
					}
				}
			}
		}
	}
	c.pixelIdx = graph.ConstTensor(g, tensors.FromFlatDataAndDimensions(idx, c.n, c.ho, c.wo, taps, 1))
	return c.pixelIdx
}

// pixelPatches is P(x) as one Gather of every tap's pixel from the unpadded
// input with one zero row appended, so that taps in the padding read that
// row (convGatherAutodiff's formulation).
func (c *patchConv) pixelPatches(x *graph.Node) *graph.Node {
	idx := c.pixelIndices(x.Graph())
	flat := graph.Reshape(x, c.n*c.h*c.w, c.cin)
	if c.pixelPad {
		flat = graph.Concatenate([]*graph.Node{flat, graph.Zeros(x.Graph(), shapes.Make(x.DType(), 1, c.cin))}, 0)
	}
	return graph.Reshape(graph.Gather(flat, idx), c.rows(), c.taps()*c.cin)
}

// maxEyeTranspose is the widest matrix transposeRows transposes by a product
// with the identity; wider ones use Transpose.
const maxEyeTranspose = 256

// transposeRows returns m [R, C] transposed to [C, R]. For narrow m it is the
// product I_C m^T, which the backend's SIMD GEMM computes in its fast layout
// (both operands contracted on their last axis): for [65536, 64] float32
// that took 6 ms where Transpose took 26 ms (its tiles thrash the cache when
// R is a power of two). For finite values the result is exact: every sum
// has one non-zero term. Go's WebAssembly has no SIMD, and there the product
// cost more than Transpose did.
func transposeRows(m *graph.Node) *graph.Node {
	cols := m.Shape().Dimensions[1]
	if cols > maxEyeTranspose || runtime.GOARCH == "wasm" {
		return graph.Transpose(m, 0, 1)
	}
	return graph.DotGeneral(eye(m.Graph(), m.DType(), cols), []int{1}, nil, m, []int{1}, nil)
}

// eye is the n x n identity matrix as a constant.
func eye(g *graph.Graph, dtype dtypes.DType, n int) *graph.Node {
	switch dtype {
	case dtypes.Float32:
		e := make([]float32, n*n)
		for i := range n {
			e[i*n+i] = 1
		}
		return graph.ConstTensor(g, tensors.FromFlatDataAndDimensions(e, n, n))
	case dtypes.Float64:
		e := make([]float64, n*n)
		for i := range n {
			e[i*n+i] = 1
		}
		return graph.ConstTensor(g, tensors.FromFlatDataAndDimensions(e, n, n))
	default:
		return graph.ConvertDType(eye(g, dtypes.Float32, n), dtype)
	}
}

// keepOnPath returns y plus a zero that depends on a and b. A product whose
// inputs reach its output only through StopGradient or a scatter GoMLX
// cannot differentiate would leave withGradients' input identities off the
// output's path, and autodiff would never ask them for their (real)
// gradients; the zero keeps them on it.
func keepOnPath(y, a, b *graph.Node) *graph.Node {
	first := func(m *graph.Node) *graph.Node {
		return graph.Reshape(graph.Slice(graph.Reshape(m, -1), graph.AxisRange(0, 1)))
	}
	return graph.Add(y, graph.MulScalar(graph.Add(first(a), first(b)), 0))
}

// withGradients returns f(a, b) for f linear in each argument, with its
// gradients for an output gradient v given by gradA(v) and gradB(v) instead
// of by differentiating f's graph. gradA and gradB must be built from the
// original a and b (and from ops that are themselves differentiable), so
// that the gradients can be differentiated again; f's output must depend on
// both of its arguments through differentiable ops (what autodiff derives
// there is discarded, but it has to reach them).
//
// GoMLX attaches custom gradients only to single-input identities, so: the
// output passes through an identity whose gradient records v, and a and b
// through identities whose gradients ignore what autodiff derived through f
// (left unused, and so never computed) and return gradA(v) and gradB(v).
// Reverse-mode autodiff visits the output identity before the input ones,
// and the input identities feed nothing but f, so within each gradient
// computation the recorded v is the one of that computation.
func withGradients(a, b *graph.Node, f func(a, b *graph.Node) *graph.Node, gradA, gradB func(v *graph.Node) *graph.Node) *graph.Node {
	var v *graph.Node
	upstream := func() *graph.Node {
		if v == nil {
			panic("model: custom convolution gradient requested before its output gradient was seen")
		}
		return v
	}
	ai := graph.IdentityWithCustomGradient(a, func(_, _ *graph.Node) *graph.Node { return gradA(upstream()) })
	bi := graph.IdentityWithCustomGradient(b, func(_, _ *graph.Node) *graph.Node { return gradB(upstream()) })
	return graph.IdentityWithCustomGradient(f(ai, bi), func(_, out *graph.Node) *graph.Node {
		v = out
		return out
	})
}
