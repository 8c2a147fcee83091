package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// torchDict is a synthetic state_dict in torchvision's names and layouts,
// written here from torchvision's module structure independently of the
// importer's mapping.
type torchDict struct {
	rng     *rand.Rand
	tensors []*checkpoint.Tensor
}

func (d *torchDict) add(name string, shape ...int) {
	v := make([]float32, product(shape))
	for i := range v {
		v[i] = float32(d.rng.NormFloat64() * 0.1)
	}
	d.tensors = append(d.tensors, checkpoint.NewFloat32(name, shape, v))
}

func (d *torchDict) bn(name string, ch int) {
	d.add(name+".weight", ch)
	d.add(name+".bias", ch)
	d.add(name+".running_mean", ch)
	v := make([]float32, ch)
	for i := range v {
		v[i] = 0.5 + d.rng.Float32()
	}
	d.tensors = append(d.tensors, checkpoint.NewFloat32(name+".running_var", []int{ch}, v),
		checkpoint.NewInt64(name+".num_batches_tracked", []int{}, []int64{100}))
}

// torchResNet18 is torchvision.models.resnet18(num_classes=classes).state_dict().
func torchResNet18(seed uint64, classes int) *checkpoint.Checkpoint {
	d := &torchDict{rng: rand.New(rand.NewPCG(seed, 1))}
	d.add("conv1.weight", 64, 3, 7, 7)
	d.bn("bn1", 64)
	inplanes := 64
	for layer := 1; layer <= 4; layer++ {
		planes := 64 << (layer - 1)
		for i := range 2 {
			p := fmt.Sprintf("layer%d.%d.", layer, i)
			d.add(p+"conv1.weight", planes, inplanes, 3, 3)
			d.bn(p+"bn1", planes)
			d.add(p+"conv2.weight", planes, planes, 3, 3)
			d.bn(p+"bn2", planes)
			if i == 0 && layer > 1 {
				d.add(p+"downsample.0.weight", planes, inplanes, 1, 1)
				d.bn(p+"downsample.1", planes)
			}
			inplanes = planes
		}
	}
	d.add("fc.weight", classes, 512)
	d.add("fc.bias", classes)
	return roundTrip(&checkpoint.Checkpoint{Meta: checkpoint.Meta{Method: "torchvision"}, Tensors: d.tensors})
}

// roundTrip passes a checkpoint through the file format.
func roundTrip(ck *checkpoint.Checkpoint) *checkpoint.Checkpoint {
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		panic(err)
	}
	back, err := checkpoint.ReadBytes(buf.Bytes())
	if err != nil {
		panic(err)
	}
	return back
}

func torchValues(t *testing.T, ck *checkpoint.Checkpoint, name string) []float32 {
	t.Helper()
	tt, ok := ck.Tensor(name)
	if !ok {
		t.Fatalf("synthetic state_dict has no %s", name)
	}
	v, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The imported stem convolution, run by the model's Conv2D on NHWC images,
// must equal PyTorch's conv2d (cross-correlation, NCHW, OIHW, stride 2,
// padding 3) evaluated directly on the torchvision tensor.
func TestImportedResNetStemEqualsTorchConvolution(t *testing.T) {
	ck := torchResNet18(7, 1000)
	cfg, err := ParseArch("ResNet-18", 5, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals, rep, err := ImportTorchvision(cfg, ck, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Reinitialised, []string{"/fc/weights", "/fc/bias"}) || !strings.Contains(rep.Reason, "fc.weight is [1000 512], the model's [5 512]") {
		t.Errorf("reinitialised %v (%q), want the classifier because of 1000 vs 5 classes", rep.Reinitialised, rep.Reason)
	}
	if len(rep.Loaded) != len(cfg.Variables())-2 || !slices.Contains(rep.Ignored, "layer3.0.downsample.1.num_batches_tracked") {
		t.Errorf("loaded %d of %d variables; ignored %v", len(rep.Loaded), len(cfg.Variables()), rep.Ignored)
	}
	if init := cfg.InitValues(3); !slices.Equal(vals["/fc/weights"], init["/fc/weights"]) {
		t.Error("the reinitialised classifier is not InitValues(seed)'s")
	}
	if got, want := vals["/layer2/block0/downsample/bn/mean"], torchValues(t, ck, "layer2.0.downsample.1.running_mean"); !slices.Equal(got, want) {
		t.Error("layer2.0.downsample.1.running_mean was not copied to /layer2/block0/downsample/bn/mean")
	}

	net, err := NewNet(testBackend(t), cfg, vals)
	if err != nil {
		t.Fatal(err)
	}
	const n, s = 2, 32
	x := toF32(randImages(5, n, s))
	e, err := gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
		return Conv2D(x, cfg.variable(scope, "/conv1/weights", x), 2, 3, ConvAuto)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Call(tensors.FromFlatDataAndDimensions(x, n, s, s, 3))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	w := torchValues(t, ck, "conv1.weight") // [64,3,7,7]
	const ho = 16
	for b := range n {
		for o := range 64 {
			for oy := range ho {
				for ox := range ho {
					var sum float64
					for i := range 3 {
						for ky := range 7 {
							for kx := range 7 {
								y, xx := oy*2-3+ky, ox*2-3+kx
								if y < 0 || y >= s || xx < 0 || xx >= s {
									continue
								}
								// NHWC input pixel (y, xx), channel i.
								sum += float64(w[((o*3+i)*7+ky)*7+kx]) * float64(x[((b*s+y)*s+xx)*3+i])
							}
						}
					}
					if g := got[((b*ho+oy)*ho+ox)*64+o]; math.Abs(float64(g)-sum) > 1e-4 {
						t.Fatalf("stem output [%d,%d,%d,%d] = %g, torch conv2d %g", b, o, oy, ox, g, sum)
					}
				}
			}
		}
	}
}

// With the class count of the checkpoint the classifier is loaded, and the
// logits are the pooled features times torchvision's fc.weight transposed,
// plus fc.bias.
func TestImportedClassifierComputesTorchLinear(t *testing.T) {
	ck := torchResNet18(8, 4)
	cfg, err := ParseArch("ResNet-18", 4, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals, rep, err := ImportTorchvision(cfg, ck, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Reinitialised) != 0 || rep.Reason != "" || len(rep.Loaded) != len(cfg.Variables()) {
		t.Fatalf("report %+v: want every variable loaded", rep)
	}
	net, err := NewNet(testBackend(t), cfg, vals)
	if err != nil {
		t.Fatal(err)
	}
	e, err := gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		return net.Forward(x, Pass{Act: ReLU})
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Call(tensors.FromFlatDataAndDimensions(toF32(randImages(9, 2, 32)), 2, 32, 32, 3))
	if err != nil {
		t.Fatal(err)
	}
	feats, logits := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	fw, fb := torchValues(t, ck, "fc.weight"), torchValues(t, ck, "fc.bias")
	per := len(feats) / 2 / 512 // spatial positions per image
	for b := range 2 {
		for o := range 4 {
			want := float64(fb[o])
			for c := range 512 {
				var pooled float64
				for p := range per {
					pooled += float64(feats[(b*per+p)*512+c])
				}
				want += pooled / float64(per) * float64(fw[o*512+c])
			}
			if g := float64(logits[b*4+o]); math.Abs(g-want) > 1e-4*max(1, math.Abs(want)) {
				t.Errorf("logit [%d,%d] = %g, torch linear %g", b, o, g, want)
			}
		}
	}
}

func TestImportTorchvisionReportsMismatches(t *testing.T) {
	cfg, err := ParseArch("ResNet-18", 4, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	ck := torchResNet18(9, 4)
	var kept []*checkpoint.Tensor
	for _, tt := range ck.Tensors {
		switch tt.Name {
		case "layer1.1.bn2.running_var": // dropped: missing
		case "layer2.0.conv1.weight": // wrong shape
			kept = append(kept, checkpoint.NewFloat32(tt.Name, []int{128, 64, 1, 1}, make([]float32, 128*64)))
		default:
			kept = append(kept, tt)
		}
	}
	kept = append(kept, checkpoint.NewFloat32("layer5.0.conv1.weight", []int{1}, []float32{0}))
	_, _, err = ImportTorchvision(cfg, &checkpoint.Checkpoint{Tensors: kept}, 1)
	var mm *checkpoint.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("error %v, want a MismatchError", err)
	}
	if !slices.Equal(mm.Missing, []string{"layer1.1.bn2.running_var"}) || !slices.Equal(mm.Unexpected, []string{"layer5.0.conv1.weight"}) ||
		len(mm.WrongShape) != 1 || mm.WrongShape[0].Name != "layer2.0.conv1.weight" || !slices.Equal(mm.WrongShape[0].Want, []int{128, 64, 3, 3}) {
		t.Errorf("mismatch %+v", mm)
	}
	if !strings.Contains(err.Error(), "ResNet-18") {
		t.Errorf("error %q does not name the model", err)
	}

	// A project checkpoint is not a torchvision state_dict.
	proj := &checkpoint.Checkpoint{Tensors: []*checkpoint.Tensor{checkpoint.NewFloat32("/conv1/weights", []int{1}, []float32{0})}}
	if _, _, err := ImportTorchvision(cfg, proj, 1); err == nil || !strings.Contains(err.Error(), "-init") {
		t.Errorf("project checkpoint: %v, want an error pointing at -init", err)
	}
	// WRNs have no torchvision weights.
	wrn, _ := ParseArch("WRN-10-1", 4, 32, 3)
	if _, _, err := ImportTorchvision(wrn, ck, 1); err == nil || !strings.Contains(err.Error(), "torchvision weights exist only") {
		t.Errorf("WRN: %v", err)
	}
}

// VGG16-GAP takes vgg16()'s convolutions (features.N, with biases),
// ignores its fully connected classifier and initialises ADL's conv6 and fc.
func TestImportTorchvisionVGG16GAP(t *testing.T) {
	d := &torchDict{rng: rand.New(rand.NewPCG(3, 1))}
	cin := 3
	idx := 0
	for _, l := range []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0} {
		if l == 0 {
			idx++ // max pool
			continue
		}
		d.add(fmt.Sprintf("features.%d.weight", idx), l, cin, 3, 3)
		d.add(fmt.Sprintf("features.%d.bias", idx), l)
		cin = l
		idx += 2 // conv, ReLU
	}
	// The classifier's real shapes are [4096, 25088] etc.; names are what
	// matter to the importer.
	d.add("classifier.0.weight", 4, 8)
	d.add("classifier.6.bias", 4)
	ck := roundTrip(&checkpoint.Checkpoint{Tensors: d.tensors})
	cfg, err := ParseArch("VGG16-GAP", 200, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals, rep, err := ImportTorchvision(cfg, ck, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Reinitialised, []string{"/conv6/weights", "/conv6/bias", "/fc/weights", "/fc/bias"}) ||
		!slices.Equal(rep.Ignored, []string{"classifier.0.weight", "classifier.6.bias"}) || len(rep.Loaded) != 26 {
		t.Errorf("report %+v", rep)
	}
	if !slices.Equal(vals["/features/conv28/bias"], torchValues(t, ck, "features.28.bias")) {
		t.Error("features.28.bias was not copied to /features/conv28/bias")
	}
	w, got := torchValues(t, ck, "features.2.weight"), vals["/features/conv2/weights"] // [64,64,3,3] -> [3,3,64,64]
	if got[((1*3+2)*64+5)*64+7] != w[((7*64+5)*3+1)*3+2] {
		t.Error("features.2.weight[7,5,1,2] is not /features/conv2/weights[1,2,5,7]")
	}
}
