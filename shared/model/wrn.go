// Package model defines the classifiers of the project: the pre-activation
// WideResNet family WRN-d-k (Zagoruyko & Komodakis, BMVC 2016) used by the
// ART paper, torchvision's ResNets and ADL's VGG16-GAP (family.go) for
// the paper's CUB-200 experiments, and Madry et al.'s MNIST network
// (mnistcnn.go) for Chen et al.'s MNIST and Fashion-MNIST experiments, as
// plain GoMLX graph functions of a variable scope and an input node.
//
// Every forward pass chooses its activation (ReLU, or softplus with a large
// beta for passes differentiated through an input gradient, since ReLU has no
// second derivative) and its batch-norm mode. Input normalisation is part of
// the model, so inputs, attributions and attacks live in [0,1] pixel space.
// Images are NHWC.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// Config describes a network and its input: by default a WideResNet
// WRN-Depth-Width; Family selects the other families (family.go).
type Config struct {
	// Family is the network family; the zero value is WRN.
	Family Family
	// Depth and Width: WRN-d-k has d = 6n+4 layers and widths 16k, 32k,
	// 64k; ResNet-d and VGGd-GAP use Depth only.
	Depth, Width int
	NumClasses   int
	// InputSize is the image height and width; Channels the input channels.
	InputSize, Channels int
	// Mean and Std normalise each input channel inside the model.
	Mean, Std []float32
}

var archRE = regexp.MustCompile(`^(?i)wrn-(\d+)-(\d+)$`)

// ParseArch parses a name such as "WRN-10-1" into a Config with the given
// number of classes, input size and channels, and neutral normalisation
// (mean 0.5, std 0.25 per channel; none, mean 0 and std 1, for the
// MNIST-CNN) that callers may replace with dataset statistics.
func ParseArch(name string, numClasses, inputSize, channels int) (Config, error) {
	if c, ok, err := parseFamilyArch(name, numClasses, inputSize, channels); ok {
		return c, err
	}
	m := archRE.FindStringSubmatch(name)
	if m == nil {
		return Config{}, fmt.Errorf("unknown architecture %q (want WRN-d-k, e.g. WRN-10-1, WRN-16-4, WRN-28-10; ResNet-18, -26, -34, -50, -101, -152; VGG16-GAP; or MNIST-CNN)", name)
	}
	d, _ := strconv.Atoi(m[1])
	k, _ := strconv.Atoi(m[2])
	c := Config{Depth: d, Width: k, NumClasses: numClasses, InputSize: inputSize, Channels: channels}
	c.Mean, c.Std = neutralNormalization(channels)
	return c, c.Validate()
}

// neutralNormalization is mean 0.5 and std 0.25 for each channel, or
// nothing (which Validate refuses) for a number of channels out of bounds.
func neutralNormalization(channels int) (mean, std []float32) {
	if channels < 1 || channels > MaxChannels {
		return nil, nil
	}
	mean, std = make([]float32, channels), make([]float32, channels)
	for i := range channels {
		mean[i], std[i] = 0.5, 0.25
	}
	return mean, std
}

// Name is the architecture's name, e.g. "WRN-10-1", "ResNet-50" or
// "VGG16-GAP".
func (c Config) Name() string {
	if c.Family != FamilyWRN {
		return c.familyName()
	}
	return fmt.Sprintf("WRN-%d-%d", c.Depth, c.Width)
}

// Bounds on a configuration, so that one read from a file or a flag can
// never ask for more than a machine holds before anything checks it against
// the weights: a checkpoint's tensors bound depth, width, classes and
// channels further (ValuesFromCheckpoint), but nothing in a file bounds the
// input size, which only sets the size of the images the model is run on.
const (
	MaxDepth     = 1000    // WRN-d-k: d; about 5000 variables
	MaxWidth     = 64      // WRN-d-k: k; 4096 channels in the last group
	MaxClasses   = 100_000 // ImageNet-21k has 21841
	MaxInputSize = 512     // the largest dataset here is CUB-200 at 224
	MaxChannels  = 16      // images have 1, 3 or 4
)

// Validate checks that the configuration describes a buildable network
// within the bounds above.
func (c Config) Validate() error {
	if c.Family != FamilyWRN {
		if err := c.validateFamily(); err != nil {
			return err
		}
	}
	switch {
	case c.Family == FamilyWRN && (c.Depth < 10 || (c.Depth-4)%6 != 0):
		return fmt.Errorf("%s: depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 40, ...)", c.Name())
	case c.Family == FamilyWRN && c.Depth > MaxDepth:
		return fmt.Errorf("%s: depth %d is over the limit of %d", c.Name(), c.Depth, MaxDepth)
	case c.Family == FamilyWRN && c.Width < 1:
		return fmt.Errorf("%s: width must be >= 1", c.Name())
	case c.Family == FamilyWRN && c.Width > MaxWidth:
		return fmt.Errorf("%s: width %d is over the limit of %d", c.Name(), c.Width, MaxWidth)
	case c.NumClasses < 2:
		return fmt.Errorf("%s: need at least 2 classes, got %d", c.Name(), c.NumClasses)
	case c.NumClasses > MaxClasses:
		return fmt.Errorf("%s: %d classes is over the limit of %d", c.Name(), c.NumClasses, MaxClasses)
	case c.InputSize < 4:
		return fmt.Errorf("%s: input size %d too small (need >= 4)", c.Name(), c.InputSize)
	case c.InputSize > MaxInputSize:
		return fmt.Errorf("%s: input size %d is over the limit of %d", c.Name(), c.InputSize, MaxInputSize)
	case c.Channels > MaxChannels:
		return fmt.Errorf("%s: %d input channels is over the limit of %d", c.Name(), c.Channels, MaxChannels)
	case c.Channels < 1 || len(c.Mean) != c.Channels || len(c.Std) != c.Channels:
		return fmt.Errorf("%s: normalisation needs one mean and std per channel (%d channels, %d means, %d stds)",
			c.Name(), c.Channels, len(c.Mean), len(c.Std))
	}
	for _, s := range c.Std {
		if !(s > 0) {
			return fmt.Errorf("%s: normalisation std must be positive, got %v", c.Name(), c.Std)
		}
	}
	return nil
}

// BlocksPerGroup is n = (d-4)/6.
func (c Config) BlocksPerGroup() int { return (c.Depth - 4) / 6 }

// groupWidths returns the output widths of the stem and the three groups.
func (c Config) groupWidths() [4]int {
	return [4]int{16, 16 * c.Width, 32 * c.Width, 64 * c.Width}
}

// VarKind says how a variable is initialised and whether it is trained.
type VarKind int

const (
	KindConv     VarKind = iota // conv kernel [k,k,cin,cout]: Kaiming normal, fan-out.
	KindBNScale                 // batch-norm gamma [c]: ones.
	KindBNOffset                // batch-norm beta [c]: zeros.
	KindBNMean                  // running mean [c]: zeros, not trained.
	KindBNVar                   // running variance [c]: ones, not trained.
	KindDenseW                  // classifier weights [in,out]: uniform(+-1/sqrt(in)).
	KindDenseB                  // classifier bias [out]: zeros.
)

// Trainable reports whether variables of this kind receive gradients.
func (k VarKind) Trainable() bool { return k != KindBNMean && k != KindBNVar }

// VarSpec names one variable of the model.
type VarSpec struct {
	Path  string // scope path, e.g. "/group1/block0/conv1/weights"
	Shape []int
	Kind  VarKind
}

// block describes one residual block.
type block struct {
	scope             string
	cin, cout, stride int
}

func (c Config) blocks() []block {
	w := c.groupWidths()
	var bs []block
	cin := w[0]
	for g, stride := range []int{1, 2, 2} {
		for i := range c.BlocksPerGroup() {
			s := 1
			if i == 0 {
				s = stride
			}
			bs = append(bs, block{fmt.Sprintf("/group%d/block%d", g+1, i), cin, w[g+1], s})
			cin = w[g+1]
		}
	}
	return bs
}

// kernelSpec is the kernel [k,k,cin,cout] of the convolution at path.
func kernelSpec(path string, k, cin, cout int) VarSpec {
	return VarSpec{path + "/weights", []int{k, k, cin, cout}, KindConv}
}

// bnSpecs are the four per-channel variables of the batch norm at path.
func bnSpecs(path string, ch int) []VarSpec {
	return []VarSpec{
		{path + "/scale", []int{ch}, KindBNScale},
		{path + "/offset", []int{ch}, KindBNOffset},
		{path + "/mean", []int{ch}, KindBNMean},
		{path + "/variance", []int{ch}, KindBNVar}}
}

// Variables lists every variable of the model, in a fixed order: the
// checkpoint layout and initialisation both follow it.
func (c Config) Variables() []VarSpec {
	if c.Family != FamilyWRN {
		return c.familyVariables()
	}
	var vs []VarSpec
	conv := func(path string, k, cin, cout int) { vs = append(vs, kernelSpec(path, k, cin, cout)) }
	bn := func(path string, ch int) { vs = append(vs, bnSpecs(path, ch)...) }
	w := c.groupWidths()
	conv("/stem/conv", 3, c.Channels, w[0])
	for _, b := range c.blocks() {
		bn(b.scope+"/bn1", b.cin)
		conv(b.scope+"/conv1", 3, b.cin, b.cout)
		bn(b.scope+"/bn2", b.cout)
		conv(b.scope+"/conv2", 3, b.cout, b.cout)
		if b.cin != b.cout || b.stride != 1 {
			conv(b.scope+"/shortcut", 1, b.cin, b.cout)
		}
	}
	bn("/head/bn", w[3])
	vs = append(vs,
		VarSpec{"/head/fc/weights", []int{w[3], c.NumClasses}, KindDenseW},
		VarSpec{"/head/fc/bias", []int{c.NumClasses}, KindDenseB})
	return vs
}

// numVariables is len(c.Variables()), computed without listing them for a
// WRN, whose depth a name alone can make huge: 1 stem kernel, 10 variables
// per block (two batch norms of 4 and two kernels), a shortcut kernel where
// a block changes width or stride (the first block of groups 2 and 3, and
// of group 1 when k > 1), and 6 in the head.
func (c Config) numVariables() int {
	if c.Family != FamilyWRN {
		return len(c.Variables())
	}
	shortcuts := 2
	if c.Width != 1 {
		shortcuts++
	}
	return 1 + 30*c.BlocksPerGroup() + shortcuts + 6
}

// NumParams counts the trainable parameters.
func (c Config) NumParams() int {
	n := 0
	for _, v := range c.Variables() {
		if v.Kind.Trainable() {
			n += product(v.Shape)
		}
	}
	return n
}

func product(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// InitValues returns freshly initialised values for every variable, drawn
// from a PCG stream seeded with seed, so that initialisation is identical on
// every platform and backend. Conv kernels use Kaiming-normal (fan-out, ReLU
// gain) as the reference WRN code does.
func (c Config) InitValues(seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed_a57))
	if c.Family == FamilyMNISTCNN {
		return c.mnistCNNInitValues(rng)
	}
	vals := make(map[string][]float32)
	for _, v := range c.Variables() {
		x := make([]float32, product(v.Shape))
		switch v.Kind {
		case KindConv:
			std := math.Sqrt(2 / float64(v.Shape[0]*v.Shape[1]*v.Shape[3]))
			for i := range x {
				x[i] = float32(rng.NormFloat64() * std)
			}
		case KindBNScale, KindBNVar:
			for i := range x {
				x[i] = 1
			}
		case KindDenseW:
			b := 1 / math.Sqrt(float64(v.Shape[0]))
			for i := range x {
				x[i] = float32((2*rng.Float64() - 1) * b)
			}
		}
		vals[v.Path] = x
	}
	return vals
}

// SetValues creates (or overwrites) the model's variables in store from
// values keyed by VarSpec.Path, checking that every variable is present with
// the right number of elements.
func (c Config) SetValues(store *gmodel.Store, values map[string][]float32) error {
	for _, v := range c.Variables() {
		x, ok := values[v.Path]
		if !ok {
			return fmt.Errorf("%s: missing variable %s", c.Name(), v.Path)
		}
		if len(x) != product(v.Shape) {
			return fmt.Errorf("%s: variable %s has %d values, want shape %v", c.Name(), v.Path, len(x), v.Shape)
		}
		t := tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), v.Shape...)
		if existing := store.GetVariable(v.Path); existing != nil {
			if err := existing.SetValue(t); err != nil {
				return fmt.Errorf("setting %s: %w", v.Path, err)
			}
			continue
		}
		variable, err := store.CreateVariable(v.Path, t)
		if err != nil {
			return fmt.Errorf("creating %s: %w", v.Path, err)
		}
		variable.SetTrainable(v.Kind.Trainable())
	}
	return nil
}

// Values reads every model variable out of store, keyed by VarSpec.Path.
func (c Config) Values(store *gmodel.Store) (map[string][]float32, error) {
	out := make(map[string][]float32)
	for _, v := range c.Variables() {
		variable := store.GetVariable(v.Path)
		if variable == nil {
			return nil, fmt.Errorf("%s: variable %s not in the store", c.Name(), v.Path)
		}
		t, err := variable.Value()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v.Path, err)
		}
		x, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v.Path, err)
		}
		out[v.Path] = x
	}
	return out, nil
}

// Pass configures one forward pass.
type Pass struct {
	Act Activation
	// Train normalises with the batch's statistics; otherwise with the
	// running averages.
	Train bool
	// UpdateStats (with Train) writes new running averages (momentum 0.1, as
	// PyTorch) into the batch-norm variables. Set it on exactly one pass per
	// training step.
	UpdateStats bool
	// Conv selects the convolution formulation (ConvAuto by default).
	Conv ConvImpl
	// Trace, when set, is called with each convolution as the forward pass
	// builds it (art bench times the layers on their own).
	Trace func(ConvLayer)
}

// ConvLayer is one convolution of a forward pass: the input [N,H,W,Cin]
// and kernel [k,k,Cin,Cout] dimensions, the stride and the zero padding.
type ConvLayer struct {
	Input, Kernel [4]int
	Stride, Pad   int
}

// conv2D is Conv2D with the pass's formulation, reported to Trace.
func (p Pass) conv2D(x, kernel *graph.Node, stride, pad int) *graph.Node {
	if p.Trace != nil {
		l := ConvLayer{Stride: stride, Pad: pad}
		copy(l.Input[:], x.Shape().Dimensions)
		copy(l.Kernel[:], kernel.Shape().Dimensions)
		p.Trace(l)
	}
	return Conv2D(x, kernel, stride, pad, p.Conv)
}

// BNEpsilon is added to the variance in batch norm (PyTorch's default).
const BNEpsilon = 1e-5

// BNMomentum is the weight of the batch statistics in the running averages.
const BNMomentum = 0.1

// Logits runs the network on x, shaped [N, H, W, C] with values in [0,1], and
// returns the logits [N, NumClasses]. The variables must exist in scope's
// store (see SetValues).
func (c Config) Logits(scope *gmodel.Scope, x *graph.Node, p Pass) *graph.Node {
	_, logits := c.Forward(scope, x, p)
	return logits
}

// Forward is Logits that also returns the last feature maps, after the final
// batch norm and activation and before global pooling ([N, h, w, 64k]): the
// maps that CAM and Grad-CAM weight.
func (c Config) Forward(scope *gmodel.Scope, x *graph.Node, p Pass) (features, logits *graph.Node) {
	g := x.Graph()
	// Backends that prefer constants (the Go backend) would otherwise bake the
	// weights into inference graphs, and a cached executable would keep
	// computing with stale weights after a training step or a checkpoint load.
	scope.Store().SetTraining(g, true)
	dims := x.Shape().Dimensions
	if len(dims) != 4 || dims[1] != c.InputSize || dims[2] != c.InputSize || dims[3] != c.Channels {
		panic(fmt.Errorf("%s expects input [N,%d,%d,%d], got %v", c.Name(), c.InputSize, c.InputSize, c.Channels, dims))
	}
	h, _ := c.Standardise(x)
	if c.Family != FamilyWRN {
		return c.forwardFamily(scope, h, p)
	}

	v := func(path string) *graph.Node {
		variable := scope.Store().GetVariable(path)
		if variable == nil {
			panic(fmt.Errorf("%s: variable %s missing from the store (initialise the model first)", c.Name(), path))
		}
		return asDType(variable.NodeValue(g), x)
	}
	conv := func(path string, x *graph.Node, stride, pad int) *graph.Node {
		return p.conv2D(x, v(path+"/weights"), stride, pad)
	}
	bnAct := func(path string, x *graph.Node) *graph.Node {
		return p.Act.Apply(c.batchNorm(scope, path, x, p))
	}

	h = conv("/stem/conv", h, 1, 1)
	for _, b := range c.blocks() {
		o := bnAct(b.scope+"/bn1", h)
		shortcut := h
		if b.cin != b.cout || b.stride != 1 {
			// As in the reference WRN code, the projection takes the
			// pre-activated input; the identity shortcut the raw one.
			shortcut = conv(b.scope+"/shortcut", o, b.stride, 0)
		}
		o = conv(b.scope+"/conv1", o, b.stride, 1)
		o = conv(b.scope+"/conv2", bnAct(b.scope+"/bn2", o), 1, 1)
		h = graph.Add(o, shortcut)
	}
	features = bnAct("/head/bn", h)
	pooled := graph.ReduceMean(features, 1, 2) // global average pool -> [N, C]
	// logits = [pooled, 1] · [W; b]: the bias enters through the product
	// rather than a broadcast add of NumClasses-long rows (see above).
	ones := graph.OnesLike(graph.Slice(pooled, graph.AxisRange(), graph.AxisRange(0, 1)))
	wb := graph.Concatenate([]*graph.Node{v("/head/fc/weights"), graph.InsertAxes(v("/head/fc/bias"), 0)}, 0)
	logits = graph.DotGeneral(graph.Concatenate([]*graph.Node{pooled, ones}, 1), []int{1}, nil, wb, []int{0}, nil)
	return features, logits
}

// Standardise returns the model's normalised input (x - mean)/std per
// channel, computed exactly as the forward pass computes it, and std as a
// constant that broadcasts against x: the input gradient with respect to the
// normalised image is the gradient with respect to x times std.
func (c Config) Standardise(x *graph.Node) (xn, std *graph.Node) {
	g := x.Graph()
	// (x - mean) / std as x*scale - shift, with scale and shift materialised
	// as constants of a whole image (or of the whole batch): a binary op that
	// broadcasts rows shorter than 16 floats (here the 3 channels) makes the
	// Go backend's AVX-512 kernels read 64 bytes past the end of the last
	// row, which crashed (SIGSEGV) when the input buffer ended at an unmapped
	// page. An explicit BroadcastToDims is folded away, so it does not help.
	scale, shift, sd := c.normalisation(x.Shape().Dimensions)
	xn = graph.Sub(graph.Mul(x, graph.ConvertDType(graph.Const(g, scale), x.DType())),
		graph.ConvertDType(graph.Const(g, shift), x.DType()))
	return xn, graph.ConvertDType(graph.Const(g, sd), x.DType())
}

// normalisation returns the input scale 1/std, shift mean/std and std as
// constants shaped [1,H,W,C] (or [N,H,W,C] when an image's H*W*C values are
// not a multiple of 16), so that the backend's broadcast rows are long and
// 16-aligned.
func (c Config) normalisation(dims []int) (scale, shift, std *tensors.Tensor) {
	n, h, w, ch := dims[0], dims[1], dims[2], dims[3]
	reps := h * w
	shape := []int{1, h, w, ch}
	if (h*w*ch)%16 != 0 {
		reps *= n
		shape[0] = n
	}
	sc, sh, sd := make([]float32, reps*ch), make([]float32, reps*ch), make([]float32, reps*ch)
	for i := range reps {
		for k := range ch {
			sc[i*ch+k] = 1 / c.Std[k]
			sh[i*ch+k] = c.Mean[k] / c.Std[k]
			sd[i*ch+k] = c.Std[k]
		}
	}
	return tensors.FromFlatDataAndDimensions(sc, shape...), tensors.FromFlatDataAndDimensions(sh, shape...),
		tensors.FromFlatDataAndDimensions(sd, shape...)
}

// batchNorm normalises x [N,H,W,C] per channel.
func (c Config) batchNorm(scope *gmodel.Scope, path string, x *graph.Node, p Pass) *graph.Node {
	g := x.Graph()
	get := func(name string) *gmodel.Variable {
		variable := scope.Store().GetVariable(path + "/" + name)
		if variable == nil {
			panic(fmt.Errorf("%s: variable %s/%s missing from the store", c.Name(), path, name))
		}
		return variable
	}
	scale, offset := asDType(get("scale").NodeValue(g), x), asDType(get("offset").NodeValue(g), x)
	meanVar, varVar := get("mean"), get("variance")
	var mean, variance *graph.Node
	if p.Train {
		mean = graph.ReduceMean(x, 0, 1, 2)
		variance = graph.ReduceMean(graph.Square(graph.Sub(x, channels(mean))), 0, 1, 2)
		if p.UpdateStats {
			d := x.Shape().Dimensions
			n := float64(d[0] * d[1] * d[2])
			unbiased := graph.MulScalar(graph.StopGradient(variance), n/max(n-1, 1))
			upd := func(v *gmodel.Variable, batch *graph.Node) {
				old := v.NodeValue(g)
				batch = graph.ConvertDType(batch, old.DType())
				v.SetNodeValue(graph.Add(graph.MulScalar(old, 1-BNMomentum), graph.MulScalar(batch, BNMomentum)))
			}
			upd(meanVar, graph.StopGradient(mean))
			upd(varVar, unbiased)
		}
	} else {
		mean, variance = asDType(meanVar.NodeValue(g), x), asDType(varVar.NodeValue(g), x)
	}
	// Div by Sqrt instead of Rsqrt: GoMLX has no gradient for Rsqrt.
	inv := graph.Div(scale, graph.Sqrt(graph.AddScalar(variance, BNEpsilon)))
	return graph.Add(graph.Mul(graph.Sub(x, channels(mean)), channels(inv)), channels(offset))
}

// channels reshapes a per-channel vector [C] to [1,1,1,C] for NHWC broadcasting.
func channels(v *graph.Node) *graph.Node {
	return graph.Reshape(v, 1, 1, 1, v.Shape().Dimensions[0])
}

// asDType converts a variable's value to like's dtype, so that a float64
// input (used by the finite-difference tests) runs the whole network in
// float64 while the weights stay stored as float32.
func asDType(n, like *graph.Node) *graph.Node {
	if n.DType() == like.DType() {
		return n
	}
	return graph.ConvertDType(n, like.DType())
}
