package model

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// KindConvBias is a convolution's bias [cout] (VGG's convolutions have
// one; the batch-normalised networks do not): zeros, trained.
const KindConvBias = KindDenseB + 1

// vggPool marks a 2x2 stride-2 max pool in vgg16GAPLayers.
const vggPool = 0

// vgg16GAPLayers is VGG16's feature extractor (configuration "D" of Simonyan
// & Zisserman, ICLR 2015) without its last max pool, as ADL's and
// wsolevaluation's "cam" configuration "14x14": output channels of each 3x3
// convolution, with vggPool for a max pool.
var vgg16GAPLayers = []int{64, 64, vggPool, 128, 128, vggPool, 256, 256, 256, vggPool,
	512, 512, 512, vggPool, 512, 512, 512}

// vggGAPWidth is the channels of the extra convolution (ADL's conv6).
const vggGAPWidth = 1024

// vggConv is one convolution of the feature extractor. torchIdx is its index
// in torchvision's vgg16().features (a convolution and its ReLU take two
// indices, a pool one), which also names its variables.
type vggConv struct {
	torchIdx, cin, cout int
	poolAfter           bool
}

func (c Config) vggConvs() []vggConv {
	var cs []vggConv
	cin, idx := c.Channels, 0
	for _, l := range vgg16GAPLayers {
		if l == vggPool {
			cs[len(cs)-1].poolAfter = true
			idx++
			continue
		}
		cs = append(cs, vggConv{torchIdx: idx, cin: cin, cout: l})
		cin = l
		idx += 2
	}
	return cs
}

func (v vggConv) scope() string { return fmt.Sprintf("/features/conv%d", v.torchIdx) }

func (c Config) vggVariables() []VarSpec {
	var vs []VarSpec
	conv := func(path string, cin, cout int) {
		vs = append(vs,
			kernelSpec(path, 3, cin, cout),
			VarSpec{path + "/bias", []int{cout}, KindConvBias})
	}
	for _, cv := range c.vggConvs() {
		conv(cv.scope(), cv.cin, cv.cout)
	}
	conv("/conv6", 512, vggGAPWidth)
	vs = append(vs,
		VarSpec{"/fc/weights", []int{vggGAPWidth, c.NumClasses}, KindDenseW},
		VarSpec{"/fc/bias", []int{c.NumClasses}, KindDenseB})
	return vs
}

// vggForward runs VGG16-GAP on the normalised input h: 3x3 convolutions
// (padding 1, with bias) each followed by the activation, 2x2 max pools
// after the second, fourth, seventh and tenth, then conv6 (3x3 to 1024
// channels) and its activation, global average pooling and the classifier.
// The features are conv6's activated output, the maps CAM weights.
func (c Config) vggForward(scope *gmodel.Scope, h *graph.Node, p Pass) (features, logits *graph.Node) {
	conv := func(path string, x *graph.Node) *graph.Node {
		y := p.conv2D(x, c.variable(scope, path+"/weights", x), 1, 1)
		return p.Act.Apply(graph.Add(y, channels(c.variable(scope, path+"/bias", x))))
	}
	for _, cv := range c.vggConvs() {
		h = conv(cv.scope(), h)
		if cv.poolAfter {
			h = maxPool(h, 2, 2, 0)
		}
	}
	h = conv("/conv6", h)
	return h, c.linearHead(scope, h, "/fc")
}
