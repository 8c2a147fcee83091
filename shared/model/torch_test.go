package model

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	gmodel "github.com/gomlx/gomlx/ml/model"
)

// pythonWithTorch returns a Python interpreter that can import numpy and
// torch, or skips the test.
func pythonWithTorch(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import numpy, torch").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with numpy and torch found (tried python3 on PATH and /usr/bin/python3)")
	return ""
}

// torchResNetScript builds torchvision's ResNet-18, a ResNet-26-style
// bottleneck network and ADL's VGG16-GAP from torch.nn alone (the module structure of
// torchvision/models/resnet.py, so the state_dict keys are torchvision's),
// randomises the batch-norm statistics, saves the state_dict, and writes the
// eval-mode logits of a fixed input.
const torchResNetScript = `
import json, sys, torch, torch.nn as nn
torch.manual_seed(0)
classes, size, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class Basic(nn.Module):
    expansion = 1
    def __init__(s, cin, planes, stride, down):
        super().__init__()
        s.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False); s.bn1 = nn.BatchNorm2d(planes)
        s.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False); s.bn2 = nn.BatchNorm2d(planes)
        s.relu = nn.ReLU(); s.downsample = down
    def forward(s, x):
        o = s.relu(s.bn1(s.conv1(x))); o = s.bn2(s.conv2(o))
        return s.relu(o + (s.downsample(x) if s.downsample is not None else x))
class Bottleneck(nn.Module):
    expansion = 4
    def __init__(s, cin, planes, stride, down):
        super().__init__()
        s.conv1 = nn.Conv2d(cin, planes, 1, bias=False); s.bn1 = nn.BatchNorm2d(planes)
        s.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False); s.bn2 = nn.BatchNorm2d(planes)
        s.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False); s.bn3 = nn.BatchNorm2d(planes * 4)
        s.relu = nn.ReLU(); s.downsample = down
    def forward(s, x):
        o = s.relu(s.bn1(s.conv1(x))); o = s.relu(s.bn2(s.conv2(o))); o = s.bn3(s.conv3(o))
        return s.relu(o + (s.downsample(x) if s.downsample is not None else x))
class ResNet(nn.Module):
    def __init__(s, block, layers, classes):
        super().__init__()
        s.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False); s.bn1 = nn.BatchNorm2d(64)
        s.relu = nn.ReLU(); s.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, n in enumerate(layers):
            planes, blocks = 64 << i, []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                down = None
                if stride != 1 or cin != planes * block.expansion:
                    down = nn.Sequential(nn.Conv2d(cin, planes * block.expansion, 1, stride, bias=False),
                                         nn.BatchNorm2d(planes * block.expansion))
                blocks.append(block(cin, planes, stride, down)); cin = planes * block.expansion
            setattr(s, "layer%d" % (i + 1), nn.Sequential(*blocks))
        s.avgpool = nn.AdaptiveAvgPool2d(1); s.fc = nn.Linear(cin, classes)
    def forward(s, x):
        x = s.maxpool(s.relu(s.bn1(s.conv1(x))))
        x = s.layer4(s.layer3(s.layer2(s.layer1(x))))
        return s.fc(torch.flatten(s.avgpool(x), 1))
class VGGGAP(nn.Module):  # ADL's VggCam: vgg16 features without the last pool, conv6, GAP, fc
    def __init__(s, classes):
        super().__init__()
        layers, cin = [], 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]; cin = v
        s.features = nn.Sequential(*layers)
        s.conv6 = nn.Conv2d(512, 1024, 3, padding=1); s.relu = nn.ReLU()
        s.avgpool = nn.AdaptiveAvgPool2d(1); s.fc = nn.Linear(1024, classes)
    def forward(s, x):
        return s.fc(torch.flatten(s.avgpool(s.relu(s.conv6(s.features(x)))), 1))
def build(kind):
    if kind == "vgg":
        net = VGGGAP(classes)
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.bias.data.uniform_(-0.1, 0.1)
    else:
        net = ResNet(Basic, [2, 2, 2, 2], classes) if kind == "18" else ResNet(Bottleneck, [2, 2, 2, 2], classes)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.1, 0.1)
    net.eval()
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        y = net(x)
    out = outdir + "/" + kind
    torch.save(net.state_dict(), out + ".pth")
    json.dump({"x_nhwc": x.permute(0, 2, 3, 1).flatten().tolist(), "logits": y.flatten().tolist()}, open(out + ".json", "w"))
for kind in ("18", "26", "vgg"):
    torch.manual_seed(0)
    build(kind)
`

// TestConvertedTorchModelsMatchPyTorch converts a torch model's
// state_dict with docs/convert_torchvision.py, imports it, and requires the
// model's eval-mode logits to equal PyTorch's on the same images: names,
// layouts and the whole architecture (stem, max pools, blocks, projections,
// biases, head) must all agree.
func TestConvertedTorchModelsMatchPyTorch(t *testing.T) {
	python := pythonWithTorch(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "docs", "convert_torchvision.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gen := exec.Command(python, "-c", torchResNetScript, "5", "32", dir)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("building the torch models: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		kind, arch string
	}{{"18", "ResNet-18"}, {"26", "ResNet-26"}, {"vgg", "VGG16-GAP"}} {
		const classes, size = 5, 32
		base := filepath.Join(dir, tc.kind)
		conv := exec.Command(python, script, base+".pth", base+".ckpt")
		if out, err := conv.CombinedOutput(); err != nil {
			t.Fatalf("convert_torchvision.py: %v\n%s", err, out)
		}
		ck, err := checkpoint.ReadFile(base + ".ckpt")
		if err != nil {
			t.Fatal(err)
		}
		if ck.Meta.Method != "torchvision" || len(ck.Meta.Normalization.Mean) != 3 {
			t.Errorf("converted metadata %+v", ck.Meta)
		}
		var ref struct {
			X      []float32 `json:"x_nhwc"`
			Logits []float64 `json:"logits"`
		}
		b, err := os.ReadFile(base + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatal(err)
		}
		cfg, err := ParseArch(tc.arch, classes, size, 3)
		if err != nil {
			t.Fatal(err)
		}
		// The torch model takes its input as is: identity normalisation.
		cfg.Mean, cfg.Std = []float32{0, 0, 0}, []float32{1, 1, 1}
		vals, rep, err := ImportTorchvision(cfg, ck, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Reinitialised) != 0 {
			t.Fatalf("%s: reinitialised %v", tc.arch, rep.Reinitialised)
		}
		net, err := NewNet(testBackend(t), cfg, vals)
		if err != nil {
			t.Fatal(err)
		}
		e, err := gmodel.NewExec(net.Backend, net.Store, func(scope *gmodel.Scope, x *graph.Node) *graph.Node {
			return net.Logits(x, Pass{Act: ReLU})
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Call(tensors.FromFlatDataAndDimensions(ref.X, 2, size, size, 3))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		if len(got) != len(ref.Logits) {
			t.Fatalf("%s: %d logits, PyTorch %d", tc.arch, len(got), len(ref.Logits))
		}
		for i, want := range ref.Logits {
			if math.Abs(float64(got[i])-want) > 1e-3*max(1, math.Abs(want)) {
				t.Errorf("%s: logit %d = %.6f, PyTorch %.6f", tc.arch, i, got[i], want)
			}
		}
	}
}
