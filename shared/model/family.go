package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Family is a network family. The zero value is the pre-activation
// WideResNet, so configurations and checkpoints written before the other
// families existed keep their meaning.
type Family int

const (
	// FamilyWRN is WRN-d-k (wrn.go).
	FamilyWRN Family = iota
	// FamilyResNet is torchvision's ResNet-18/34/50/101/152 (He et al.,
	// CVPR 2016; "v1.5", stride on the 3x3 convolution of a bottleneck),
	// plus ResNet-26, bottleneck blocks [2,2,2,2], a small variant for
	// tests (resnet.go).
	FamilyResNet
	// FamilyVGGGAP is VGG16-GAP as in ADL (Choe & Shim, CVPR 2019) and
	// wsolevaluation: VGG16's convolutions without the last max pool, one
	// extra 3x3 convolution to 1024 channels, global average pooling and a
	// linear classifier (vgg.go).
	FamilyVGGGAP
	// FamilyMNISTCNN is Madry et al.'s MNIST network, which Chen et al.
	// train on MNIST and Fashion-MNIST (mnistcnn.go).
	FamilyMNISTCNN
)

var (
	resnetRE = regexp.MustCompile(`^(?i)resnet-?(\d+)$`)
	vggRE    = regexp.MustCompile(`^(?i)vgg-?16-gap$`)
	mnistRE  = regexp.MustCompile(`^(?i)mnist-?cnn$`)
)

// parseFamilyArch recognises the names of the non-WRN families. ok is false
// when name is none of them.
func parseFamilyArch(name string, numClasses, inputSize, channels int) (c Config, ok bool, err error) {
	switch {
	case resnetRE.MatchString(name):
		d, _ := strconv.Atoi(resnetRE.FindStringSubmatch(name)[1])
		c = Config{Family: FamilyResNet, Depth: d}
	case vggRE.MatchString(name):
		c = Config{Family: FamilyVGGGAP, Depth: 16}
	case mnistRE.MatchString(name):
		c = Config{Family: FamilyMNISTCNN}
	default:
		return Config{}, false, nil
	}
	c.NumClasses, c.InputSize, c.Channels = numClasses, inputSize, channels
	c.Mean, c.Std = neutralNormalization(channels)
	if c.Family == FamilyMNISTCNN {
		for i := range c.Mean {
			c.Mean[i], c.Std[i] = 0, 1 // the reference takes [0,1] pixels as they are
		}
	}
	return c, true, c.Validate()
}

// ImageNetMean and ImageNetStd are the RGB normalisation torchvision's
// ImageNet-pretrained weights expect; a model fine-tuned from them keeps it.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)

func (c Config) familyName() string {
	switch c.Family {
	case FamilyResNet:
		return fmt.Sprintf("ResNet-%d", c.Depth)
	case FamilyVGGGAP:
		return fmt.Sprintf("VGG%d-GAP", c.Depth)
	case FamilyMNISTCNN:
		return "MNIST-CNN"
	}
	return fmt.Sprintf("Family(%d)-%d", int(c.Family), c.Depth)
}

// validateFamily checks the family-specific fields; the shared ones
// (classes, channels, normalisation) are checked by Validate.
func (c Config) validateFamily() error {
	switch c.Family {
	case FamilyResNet:
		if _, ok := resnetLayouts[c.Depth]; !ok {
			return fmt.Errorf("%s: unknown depth (want ResNet-18, -26, -34, -50, -101 or -152)", c.Name())
		}
		if c.InputSize < 32 {
			return fmt.Errorf("%s: input size %d too small (need >= 32: the network downsamples 32 times)", c.Name(), c.InputSize)
		}
	case FamilyVGGGAP:
		if c.Depth != 16 {
			return fmt.Errorf("%s: only VGG16-GAP is defined", c.Name())
		}
		if c.InputSize < 16 {
			return fmt.Errorf("%s: input size %d too small (need >= 16: the network downsamples 16 times)", c.Name(), c.InputSize)
		}
	case FamilyMNISTCNN:
		return c.validateMNISTCNN()
	default:
		return fmt.Errorf("unknown network family %d", int(c.Family))
	}
	return nil
}

func (c Config) familyVariables() []VarSpec {
	switch c.Family {
	case FamilyResNet:
		return c.resnetVariables()
	case FamilyVGGGAP:
		return c.vggVariables()
	case FamilyMNISTCNN:
		return c.mnistCNNVariables()
	}
	panic(fmt.Errorf("model: unknown network family %d", int(c.Family)))
}

// forwardFamily runs the non-WRN networks on the normalised input h.
func (c Config) forwardFamily(scope *gmodel.Scope, h *graph.Node, p Pass) (features, logits *graph.Node) {
	switch c.Family {
	case FamilyResNet:
		return c.resnetForward(scope, h, p)
	case FamilyVGGGAP:
		return c.vggForward(scope, h, p)
	case FamilyMNISTCNN:
		return c.mnistCNNForward(scope, h, p)
	}
	panic(fmt.Errorf("model: unknown network family %d", int(c.Family)))
}

// variable returns the value of the variable at path as a node of like's
// dtype, or panics with a clear message when it is missing.
func (c Config) variable(scope *gmodel.Scope, path string, like *graph.Node) *graph.Node {
	variable := scope.Store().GetVariable(path)
	if variable == nil {
		panic(fmt.Errorf("%s: variable %s missing from the store (initialise the model first)", c.Name(), path))
	}
	return asDType(variable.NodeValue(like.Graph()), like)
}

// linearHead is global average pooling of features [N,h,w,C] followed by
// the classifier [pooled, 1] · [W; b], the bias entering through the product
// as in the WRN head (a broadcast add of short rows can crash the Go
// backend's AVX-512 kernels).
func (c Config) linearHead(scope *gmodel.Scope, features *graph.Node, path string) *graph.Node {
	pooled := graph.ReduceMean(features, 1, 2)
	ones := graph.OnesLike(graph.Slice(pooled, graph.AxisRange(), graph.AxisRange(0, 1)))
	wb := graph.Concatenate([]*graph.Node{c.variable(scope, path+"/weights", features),
		graph.InsertAxes(c.variable(scope, path+"/bias", features), 0)}, 0)
	return graph.DotGeneral(graph.Concatenate([]*graph.Node{pooled, ones}, 1), []int{1}, nil, wb, []int{0}, nil)
}

// maxPool is a k x k max pool with the given stride and symmetric padding
// (PyTorch's output size, floor mode), written as the maximum of k*k strided
// slices so that its gradients are differentiable again (ART takes second
// derivatives through it). The padding is zeros, not -inf: every caller pools
// the output of a ReLU or softplus, which is >= 0, so a zero never wins over
// a window's real values except where they are all zero anyway.
func maxPool(x *graph.Node, k, stride, pad int) *graph.Node {
	d := x.Shape().Dimensions
	ho, wo := ConvOutputSize(d[1], k, stride, pad), ConvOutputSize(d[2], k, stride, pad)
	if pad > 0 {
		x = graph.Pad(x, graph.ScalarZero(x.Graph(), x.DType()),
			compute.PadAxis{}, compute.PadAxis{Start: pad, End: pad},
			compute.PadAxis{Start: pad, End: pad}, compute.PadAxis{})
	}
	var out *graph.Node
	for i := range k {
		for j := range k {
			v := graph.Slice(x, graph.AxisRange(),
				graph.AxisRange(i, i+stride*(ho-1)+1).Stride(stride),
				graph.AxisRange(j, j+stride*(wo-1)+1).Stride(stride),
				graph.AxisRange())
			if out == nil {
				out = v
			} else {
				out = graph.Max(out, v)
			}
		}
	}
	return out
}

// ClassifierWeights is the path of the final linear layer's weights
// [features, classes], which CAM weights the feature maps with.
func (c Config) ClassifierWeights() string {
	switch c.Family {
	case FamilyWRN:
		return "/head/fc/weights"
	case FamilyMNISTCNN:
		return "/fc2/weights"
	}
	return "/fc/weights"
}

// HasGAPHead reports whether the network ends in global average pooling of
// its last feature maps and one linear layer, which CAM needs: every family
// but the MNIST-CNN, whose classifier takes the flattened maps through a
// hidden layer.
func (c Config) HasGAPHead() bool { return c.Family != FamilyMNISTCNN }

// InHead reports whether the variable at path belongs to the part of the
// network that fine-tuning from ImageNet weights trains at a higher rate:
// the last stage and the classifier (ResNet: layer4 and fc, as the ART
// paper's CUB code; WRN: group 3 and the head), or for VGG16-GAP the layers
// the GAP network adds to VGG16 (conv6 and fc, as ADL).
func (c Config) InHead(path string) bool {
	var prefixes []string
	switch c.Family {
	case FamilyResNet:
		prefixes = []string{"/layer4/", "/fc/"}
	case FamilyVGGGAP:
		prefixes = []string{"/conv6/", "/fc/"}
	case FamilyMNISTCNN:
		prefixes = []string{"/fc1/", "/fc2/"}
	default:
		prefixes = []string{"/group3/", "/head/"}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
