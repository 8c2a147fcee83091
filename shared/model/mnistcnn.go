package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// The MNIST-CNN is the network of Madry et al.'s MNIST challenge ("Towards
// Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018;
// github.com/MadryLab/mnist_challenge, model.py), which Chen et al. train on
// MNIST and Fashion-MNIST (NeurIPS 2019; robust-attribution-regularization,
// MNIST/model.py and Fashion-MNIST/model.py, identical):
//
//	conv 5x5, 32 channels, same padding, bias; activation; 2x2 max pool
//	conv 5x5, 64 channels, same padding, bias; activation; 2x2 max pool
//	fully connected to 1024, bias; activation
//	fully connected to the classes, bias
//
// The variables keep the TensorFlow layouts ([5,5,cin,cout] kernels, the
// flattened features in row, column, channel order), so the reference
// weights load as they are. The input is taken as is (Config.Mean 0 and Std
// 1, as the reference feeds [0,1] pixels), and the weights are initialised
// as the reference does: truncated normal (std 0.1) kernels and weights,
// biases 0.1.
const (
	mnistCNNKernel = 5
	mnistCNNConv1  = 32
	mnistCNNConv2  = 64
	mnistCNNHidden = 1024
	// mnistCNNInit is the std of the truncated normal initial weights and
	// the value of the initial biases.
	mnistCNNInit = 0.1
)

// mnistCNNPooled is the side of the features after the two 2x2 pools.
func (c Config) mnistCNNPooled() int { return c.InputSize / 4 }

func (c Config) mnistCNNVariables() []VarSpec {
	p := c.mnistCNNPooled()
	return []VarSpec{
		kernelSpec("/conv1", mnistCNNKernel, c.Channels, mnistCNNConv1),
		{"/conv1/bias", []int{mnistCNNConv1}, KindConvBias},
		kernelSpec("/conv2", mnistCNNKernel, mnistCNNConv1, mnistCNNConv2),
		{"/conv2/bias", []int{mnistCNNConv2}, KindConvBias},
		{"/fc1/weights", []int{p * p * mnistCNNConv2, mnistCNNHidden}, KindDenseW},
		{"/fc1/bias", []int{mnistCNNHidden}, KindDenseB},
		{"/fc2/weights", []int{mnistCNNHidden, c.NumClasses}, KindDenseW},
		{"/fc2/bias", []int{c.NumClasses}, KindDenseB},
	}
}

// mnistCNNInitValues initialises as the reference's _weight_variable and
// _bias_variable: tf.truncated_normal(stddev=0.1) (values beyond two
// standard deviations drawn again) and tf.constant(0.1).
func (c Config) mnistCNNInitValues(rng *rand.Rand) map[string][]float32 {
	vals := make(map[string][]float32)
	for _, v := range c.Variables() {
		x := make([]float32, product(v.Shape))
		for i := range x {
			if v.Kind == KindConvBias || v.Kind == KindDenseB {
				x[i] = mnistCNNInit
				continue
			}
			z := rng.NormFloat64()
			for z < -2 || z > 2 {
				z = rng.NormFloat64()
			}
			x[i] = float32(z * mnistCNNInit)
		}
		vals[v.Path] = x
	}
	return vals
}

// mnistCNNForward runs the network on the (normalised) input h. The
// features are the second block's pooled maps [N, s/4, s/4, 64], the last
// convolutional maps, which Grad-CAM weights.
func (c Config) mnistCNNForward(scope *gmodel.Scope, h *graph.Node, p Pass) (features, logits *graph.Node) {
	conv := func(path string, x *graph.Node) *graph.Node {
		y := p.conv2D(x, c.variable(scope, path+"/weights", x), 1, mnistCNNKernel/2)
		return maxPool(p.Act.Apply(graph.Add(y, channels(c.variable(scope, path+"/bias", x)))), 2, 2, 0)
	}
	features = conv("/conv2", conv("/conv1", h))
	n := features.Shape().Dimensions[0]
	flat := graph.Reshape(features, n, -1)
	hidden := graph.DotGeneral(flat, []int{1}, nil, c.variable(scope, "/fc1/weights", flat), []int{0}, nil)
	hidden = p.Act.Apply(graph.Add(hidden, graph.InsertAxes(c.variable(scope, "/fc1/bias", flat), 0)))
	// [hidden, 1] · [W; b]: the bias of the short rows of classes enters
	// through the product (see linearHead).
	ones := graph.OnesLike(graph.Slice(hidden, graph.AxisRange(), graph.AxisRange(0, 1)))
	wb := graph.Concatenate([]*graph.Node{c.variable(scope, "/fc2/weights", hidden),
		graph.InsertAxes(c.variable(scope, "/fc2/bias", hidden), 0)}, 0)
	logits = graph.DotGeneral(graph.Concatenate([]*graph.Node{hidden, ones}, 1), []int{1}, nil, wb, []int{0}, nil)
	return features, logits
}

func (c Config) validateMNISTCNN() error {
	if c.InputSize < 8 || c.InputSize%4 != 0 {
		return fmt.Errorf("%s: input size %d must be a multiple of 4, at least 8 (two 2x2 max pools; 28 for MNIST)", c.Name(), c.InputSize)
	}
	return nil
}
