package attribution

import (
	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/gomlx/core/graph"
)

// CAM is the class activation map of Zhou et al. (CVPR 2016): the last
// feature maps A_c weighted by the classifier's weights for the target,
// sum_c W[c,t] A_c, upsampled bilinearly to the input size. It is defined
// for networks that end in global average pooling and a linear layer, as
// the WRNs do.
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

// upsampleToInput resizes an [N,h,w] map bilinearly to x's [N,H,W,C].
func upsampleToInput(cam, x *graph.Node) *graph.Node {
	d := x.Shape().Dimensions
	up := graph.Interpolate(graph.InsertAxes(cam, 3), -1, d[1], d[2], -1).Bilinear().Done()
	return graph.BroadcastToDims(up, d...)
}
