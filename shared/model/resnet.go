package model

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// resnetLayout is the number of blocks per stage and the block type of a
// ResNet depth, as in torchvision (ResNet-26 is not in torchvision: it is
// the bottleneck network with two blocks per stage, small enough for tests).
type resnetLayout struct {
	blocks     [4]int
	bottleneck bool
}

var resnetLayouts = map[int]resnetLayout{
	18:  {[4]int{2, 2, 2, 2}, false},
	26:  {[4]int{2, 2, 2, 2}, true},
	34:  {[4]int{3, 4, 6, 3}, false},
	50:  {[4]int{3, 4, 6, 3}, true},
	101: {[4]int{3, 4, 23, 3}, true},
	152: {[4]int{3, 8, 36, 3}, true},
}

// resnetBlock is one residual block of a ResNet.
type resnetBlock struct {
	scope                string // e.g. "/layer2/block0"
	cin, planes, stride  int
	cout                 int // planes, or 4*planes for a bottleneck
	bottleneck, project  bool
	torchLayer, torchIdx int // torchvision's layerN.M
}

func (c Config) resnetBlocks() []resnetBlock {
	lay := resnetLayouts[c.Depth]
	expansion := 1
	if lay.bottleneck {
		expansion = 4
	}
	var bs []resnetBlock
	cin := 64
	for s, n := range lay.blocks {
		planes := 64 << s
		for i := range n {
			stride := 1
			if i == 0 && s > 0 {
				stride = 2
			}
			cout := planes * expansion
			bs = append(bs, resnetBlock{
				scope: fmt.Sprintf("/layer%d/block%d", s+1, i),
				cin:   cin, planes: planes, stride: stride, cout: cout,
				bottleneck: lay.bottleneck, project: stride != 1 || cin != cout,
				torchLayer: s + 1, torchIdx: i,
			})
			cin = cout
		}
	}
	return bs
}

// resnetConvs lists a block's convolutions: scope suffix, kernel size,
// input and output channels, stride and padding.
type convSpec struct {
	name                      string
	k, cin, cout, stride, pad int
}

func (b resnetBlock) convs() []convSpec {
	if b.bottleneck {
		return []convSpec{
			{"conv1", 1, b.cin, b.planes, 1, 0},
			{"conv2", 3, b.planes, b.planes, b.stride, 1},
			{"conv3", 1, b.planes, b.cout, 1, 0},
		}
	}
	return []convSpec{
		{"conv1", 3, b.cin, b.planes, b.stride, 1},
		{"conv2", 3, b.planes, b.planes, 1, 1},
	}
}

// bnName is the batch norm that follows a block's convolution conv1/2/3.
func bnName(conv string) string { return "bn" + conv[len("conv"):] }

func (c Config) resnetVariables() []VarSpec {
	var vs []VarSpec
	conv := func(path string, k, cin, cout int) { vs = append(vs, kernelSpec(path, k, cin, cout)) }
	bn := func(path string, ch int) { vs = append(vs, bnSpecs(path, ch)...) }
	conv("/conv1", 7, c.Channels, 64)
	bn("/bn1", 64)
	last := 64
	for _, b := range c.resnetBlocks() {
		for _, cv := range b.convs() {
			conv(b.scope+"/"+cv.name, cv.k, cv.cin, cv.cout)
			bn(b.scope+"/"+bnName(cv.name), cv.cout)
		}
		if b.project {
			conv(b.scope+"/downsample/conv", 1, b.cin, b.cout)
			bn(b.scope+"/downsample/bn", b.cout)
		}
		last = b.cout
	}
	vs = append(vs,
		VarSpec{"/fc/weights", []int{last, c.NumClasses}, KindDenseW},
		VarSpec{"/fc/bias", []int{c.NumClasses}, KindDenseB})
	return vs
}

// resnetForward is torchvision's ResNet on the normalised input h: 7x7
// stride-2 convolution, batch norm, activation, 3x3 stride-2 max pool, four
// stages of residual blocks (post-activation: conv-bn-act, the sum of the
// block and its shortcut activated), global average pooling and the linear
// classifier. Every ReLU of torchvision's network is p.Act. The features
// returned are the last stage's output, before pooling.
func (c Config) resnetForward(scope *gmodel.Scope, h *graph.Node, p Pass) (features, logits *graph.Node) {
	conv := func(path string, x *graph.Node, stride, pad int) *graph.Node {
		return p.conv2D(x, c.variable(scope, path+"/weights", x), stride, pad)
	}
	bn := func(path string, x *graph.Node) *graph.Node { return c.batchNorm(scope, path, x, p) }

	h = p.Act.Apply(bn("/bn1", conv("/conv1", h, 2, 3)))
	h = maxPool(h, 3, 2, 1)
	for _, b := range c.resnetBlocks() {
		shortcut := h
		if b.project {
			shortcut = bn(b.scope+"/downsample/bn", conv(b.scope+"/downsample/conv", h, b.stride, 0))
		}
		o := h
		convs := b.convs()
		for i, cv := range convs {
			o = bn(b.scope+"/"+bnName(cv.name), conv(b.scope+"/"+cv.name, o, cv.stride, cv.pad))
			if i < len(convs)-1 {
				o = p.Act.Apply(o)
			}
		}
		h = p.Act.Apply(graph.Add(o, shortcut))
	}
	return h, c.linearHead(scope, h, "/fc")
}
