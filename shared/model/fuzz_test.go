package model

import (
	"strconv"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
)

// FuzzParseArch: any name either fails with an error or gives a valid
// configuration whose Name parses back to the same network.
func FuzzParseArch(f *testing.F) {
	for _, s := range []string{"WRN-10-1", "WRN-28-10", "ResNet-50", "resnet18", "ResNet-26", "VGG16-GAP", "vgg-16-gap",
		"ResNet-0", "ResNet-99999999999999999999", "WRN-4-1", "VGG19-GAP", "", "resnet-", "WRN--1-1"} {
		f.Add(s, 10, 32, 3)
	}
	f.Fuzz(func(t *testing.T, name string, classes, size, channels int) {
		if channels > 64 || channels < 0 {
			return // ParseArch allocates one mean and std per channel
		}
		c, err := ParseArch(name, classes, size, channels)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseArch(%q) returned an invalid config: %v", name, err)
		}
		back, err := ParseArch(c.Name(), classes, size, channels)
		if err != nil || back.Family != c.Family || back.Depth != c.Depth || back.Width != c.Width {
			t.Fatalf("%q -> %s -> %+v, %v", name, c.Name(), back, err)
		}
	})
}

// FuzzImportTorchvision feeds ResNet-18 state_dicts of arbitrary names and
// shapes (one tensor per line: "name d1 d2 ...", zero values) to the
// importer: it must return either values for every variable with the right
// sizes or an error, never panic.
func FuzzImportTorchvision(f *testing.F) {
	f.Add("conv1.weight 64 3 7 7\nbn1.weight 64\nfc.weight 1000 512\nfc.bias 1000")
	f.Add("layer1.0.conv1.weight 64 64 3 3\nlayer1.0.conv1.weight 64 64 3 3")
	f.Add("/conv1/weights 7 7 3 64")
	f.Add("bn1.num_batches_tracked\nclassifier.0.weight 4 8\nfc.weight 3 512")
	f.Add("conv1.weight -1 3\nconv1.weight 0")
	cfg, err := ParseArch("ResNet-18", 3, 32, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ck := &checkpoint.Checkpoint{}
		for _, line := range strings.Split(spec, "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			shape, n := []int{}, 1
			for _, s := range fields[1:] {
				d, err := strconv.Atoi(s)
				if err != nil || d < 0 || d > 1<<12 {
					return
				}
				shape = append(shape, d)
				n *= d
				if n > 1<<16 {
					return
				}
			}
			ck.Tensors = append(ck.Tensors, checkpoint.NewFloat32(fields[0], shape, make([]float32, n)))
		}
		vals, rep, err := ImportTorchvision(cfg, ck, 1)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(rep.Loaded)+len(rep.Reinitialised) != len(cfg.Variables()) {
			t.Fatalf("report accounts for %d+%d of %d variables", len(rep.Loaded), len(rep.Reinitialised), len(cfg.Variables()))
		}
		for _, v := range cfg.Variables() {
			if len(vals[v.Path]) != product(v.Shape) {
				t.Fatalf("%s: %d values for shape %v", v.Path, len(vals[v.Path]), v.Shape)
			}
		}
	})
}
