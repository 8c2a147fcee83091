// Package attribution computes attribution (saliency) maps of a classifier's
// prediction with respect to its input: Gradient, Input×Gradient, Integrated
// Gradients, SmoothGrad, GradientSHAP, CAM and Grad-CAM.
//
// Every method has the same call shape, as in Captum: a model, a batch of
// NHWC inputs in [0,1], one target class per input, and options; the result
// is one map per input shaped like the input. Each method is also available
// as a graph function (Method.Map) so that attacks and the ART loss can
// differentiate through it.
//
// Maps are computed in evaluation mode (running batch-norm statistics), so
// the maps of the images of a batch do not depend on each other.
package attribution

import (
	"fmt"

	"github.com/artrobust/art/shared/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Method is one attribution method with its settings.
type Method interface {
	// String names the method and every setting that changes its result;
	// it keys the cache of compiled executables.
	String() string
	// Map builds, inside a graph, the maps of x [N,H,W,C] for the int32
	// targets [N]; the result is shaped like x and differentiable.
	Map(net *model.Net, x, targets *graph.Node) *graph.Node
}

// Attribute computes the maps of an NHWC batch x for the given targets with
// method m. The result has len(x) values laid out like x. Methods that
// average over many points (IntegratedGradients, SmoothGrad, GradientSHAP)
// evaluate them in chunks, so memory stays bounded by their ChunkSize.
func Attribute(net *model.Net, m Method, x []float32, targets []int) ([]float32, error) {
	xt, err := net.Batch(x)
	if err != nil {
		return nil, err
	}
	n := xt.Shape().Dimensions[0]
	if len(targets) != n {
		return nil, fmt.Errorf("attribution %s: %d targets for %d images", m, len(targets), n)
	}
	tt := make([]int32, n)
	for i, t := range targets {
		if t < 0 || t >= net.Config.NumClasses {
			return nil, fmt.Errorf("attribution %s: target %d of image %d outside the %d classes", m, t, i, net.Config.NumClasses)
		}
		tt[i] = int32(t)
	}
	if s, ok := m.(sampler); ok {
		return attributeChunked(net, m, s, xt, tensors.FromFlatDataAndDimensions(tt, n))
	}
	out, err := net.Call("attribution/"+m.String(), func() (*gmodel.Exec, error) {
		return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, t *graph.Node) *graph.Node {
			return m.Map(net, x, t)
		})
	}, xt, tensors.FromFlatDataAndDimensions(tt, n))
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float32](out[0])
}

// TargetGradient returns d(sum_i z_{t_i}(x_i))/dx: the gradient of each
// input's target logit with respect to that input (inputs are independent in
// evaluation mode). x is [N,H,W,C], targets int32 [N].
func TargetGradient(net *model.Net, x, targets *graph.Node, act model.Activation) *graph.Node {
	logits := net.Logits(x, model.Pass{Act: act})
	return graph.Gradient(TargetLogitSum(logits, targets), x)[0]
}

// TargetLogitSum is sum_i logits[i, targets[i]].
func TargetLogitSum(logits, targets *graph.Node) *graph.Node {
	classes := logits.Shape().Dimensions[1]
	onehot := graph.OneHot(targets, classes, logits.DType())
	return graph.ReduceAllSum(graph.Mul(logits, onehot))
}

// sampler is implemented by methods that average gradients over K points
// per input (a path or a noise distribution), so that Attribute can split
// the K points into chunks.
type sampler interface {
	numPoints() int
	chunkSize() int
	// partial returns the contribution of points [k0,k1) to the maps of x
	// [N,H,W,C]; the maps are the sum of the partials over all chunks.
	partial(net *model.Net, x, targets *graph.Node, k0, k1 int) *graph.Node
}

// mapFromPartials builds the whole map in one graph (used by Map).
func mapFromPartials(net *model.Net, s sampler, x, targets *graph.Node) *graph.Node {
	return s.partial(net, x, targets, 0, s.numPoints())
}

func attributeChunked(net *model.Net, m Method, s sampler, x, t *tensors.Tensor) ([]float32, error) {
	k, chunk := s.numPoints(), s.chunkSize()
	if chunk <= 0 || chunk > k {
		chunk = k
	}
	var sum []float32
	for k0 := 0; k0 < k; k0 += chunk {
		k1 := min(k0+chunk, k)
		key := fmt.Sprintf("attribution/%s/chunk[%d:%d]", m, k0, k1)
		out, err := net.Call(key, func() (*gmodel.Exec, error) {
			return gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x, t *graph.Node) *graph.Node {
				return s.partial(net, x, t, k0, k1)
			})
		}, x, t)
		if err != nil {
			return nil, err
		}
		part, err := tensors.CopyFlatData[float32](out[0])
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = part
			continue
		}
		for i, v := range part {
			sum[i] += v
		}
	}
	return sum, nil
}

// pointGradients evaluates the target gradient at K points per input.
// points is [N*K, H,W,C] ordered input-major; the result is [N, K, H,W,C].
func pointGradients(net *model.Net, points, targets *graph.Node, k int, act model.Activation) *graph.Node {
	d := points.Shape().Dimensions
	n := d[0] / k
	rep := graph.Reshape(graph.BroadcastToDims(graph.Reshape(targets, n, 1), n, k), n*k)
	grads := TargetGradient(net, points, rep, act)
	return graph.Reshape(grads, n, k, d[1], d[2], d[3])
}

// repeatPoints repeats x [N,H,W,C] k times: [N, K, H,W,C].
func repeatPoints(x *graph.Node, k int) *graph.Node {
	d := x.Shape().Dimensions
	return graph.BroadcastToDims(graph.InsertAxes(x, 1), d[0], k, d[1], d[2], d[3])
}

// constant makes a float constant of x's dtype shaped dims.
func constant(like *graph.Node, values []float32, dims ...int) *graph.Node {
	c := graph.Const(like.Graph(), tensors.FromFlatDataAndDimensions(values, dims...))
	if like.DType() != dtypes.Float32 {
		c = graph.ConvertDType(c, like.DType())
	}
	return c
}
