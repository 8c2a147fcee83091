package attribution

import (
	"fmt"
	"math"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// CAM is the class activation map of Zhou et al. (CVPR 2016): the last
// feature maps A_c weighted by the classifier's weights for the target,
// sum_c W[c,t] A_c, upsampled bilinearly to the input size. It is defined
// for networks that end in global average pooling and a linear layer, as
// the WRNs do; on other networks (the MNIST-CNN) building its graph panics
// with an error saying so, which Net.Call returns.
type CAM struct {
	Act model.Activation
}

func (m CAM) String() string { return "cam/" + m.Act.String() }

// Map implements Method; the H×W map is repeated over the input channels.
func (m CAM) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return upsampleToInput(m.lowRes(net, x, targets), x)
}

// lowRes is the map at the resolution of the last features: [N, h, w].
func (m CAM) lowRes(net *model.Net, x, targets *graph.Node) *graph.Node {
	if !net.Config.HasGAPHead() {
		panic(fmt.Errorf("CAM is not defined for %s: it needs global average pooling and one linear layer at the end (use Grad-CAM)", net.Config.Name()))
	}
	features, _ := net.Forward(x, model.Pass{Act: m.Act})
	w := net.Store.GetVariable(net.Config.ClassifierWeights()).NodeValue(x.Graph())
	w = graph.ConvertDType(w, x.DType())
	// Column t of W for each input: [N, C].
	classes := w.Shape().Dimensions[1]
	wt := graph.DotGeneral(graph.OneHot(targets, classes, x.DType()), []int{1}, nil, w, []int{1}, nil)
	return graph.ReduceSum(graph.Mul(features, graph.InsertAxes(graph.InsertAxes(wt, 1), 1)), 3)
}

// GradCAM is Grad-CAM (Selvaraju et al., ICCV 2017): the last feature maps
// weighted by the spatial mean of the target logit's gradient with respect
// to them, passed through ReLU and upsampled bilinearly to the input size:
// ReLU(sum_c alpha_c A_c), alpha_c = mean_ij dz_t/dA_c(i,j).
type GradCAM struct {
	Act model.Activation
}

func (m GradCAM) String() string { return "gradcam/" + m.Act.String() }

// Map implements Method; the H×W map is repeated over the input channels.
func (m GradCAM) Map(net *model.Net, x, targets *graph.Node) *graph.Node {
	return upsampleToInput(m.lowRes(net, x, targets), x)
}

// lowRes is the map at the resolution of the last features: [N, h, w].
func (m GradCAM) lowRes(net *model.Net, x, targets *graph.Node) *graph.Node {
	features, logits := net.Forward(x, model.Pass{Act: m.Act})
	grads := graph.Gradient(TargetLogitSum(logits, targets), features)[0]
	alpha := graph.ReduceMean(grads, 1, 2) // [N, C]
	cam := graph.ReduceSum(graph.Mul(features, graph.InsertAxes(graph.InsertAxes(alpha, 1), 1)), 3)
	return graph.Max(cam, graph.ZerosLike(cam))
}

// upsampleToInput resizes an [N,h,w] map bilinearly to x's [N,H,W,C]: the
// interpolation of GoMLX's Interpolate(...).Bilinear() (half-pixel centres),
// written as two products with constant interpolation matrices, R_H m R_W^T.
// Interpolate clamps its sample indices with a Clamp op, which GoMLX's ONNX
// Runtime backend does not have; the products run on every backend.
func upsampleToInput(cam, x *graph.Node) *graph.Node {
	d, c := x.Shape().Dimensions, cam.Shape().Dimensions
	g := cam.Graph()
	rh := graph.ConstTensor(g, bilinearMatrix(d[1], c[1], cam.DType())) // [H, h]
	rw := graph.ConstTensor(g, bilinearMatrix(d[2], c[2], cam.DType())) // [W, w]
	t := graph.DotGeneral(cam, []int{2}, nil, rw, []int{1}, nil)        // [N, h, W]
	up := graph.DotGeneral(t, []int{1}, nil, rh, []int{1}, nil)         // [N, W, H]
	up = graph.Transpose(up, 1, 2)                                      // [N, H, W]
	return graph.BroadcastToDims(graph.InsertAxes(up, 3), d...)
}

// bilinearMatrix is the [out, in] matrix of bilinear resampling from in to
// out samples with half-pixel centres, row o holding the weights of output
// sample o: the span of min(in, 3) input samples and the triangle weights
// that GoMLX's Interpolate uses, normalised to sum 1.
func bilinearMatrix(out, in int, dtype dtypes.DType) *tensors.Tensor {
	m := make([]float64, out*in)
	scale := float64(in) / float64(out)
	span := min(in, 3)
	for o := range out {
		at := (float64(o) + 0.5) * scale
		start := math.Ceil(at - 1.5)
		start = math.Max(0, math.Min(start, float64(in-span)))
		var sum float64
		w := make([]float64, span)
		for s := range span {
			w[s] = math.Max(1-math.Abs(start-at+float64(s)+0.5), 0)
			sum += w[s]
		}
		for s := range span {
			m[o*in+int(start)+s] = w[s] / sum
		}
	}
	if dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(m, out, in)
	}
	f := make([]float32, len(m))
	for i, v := range m {
		f[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f, out, in)
}
