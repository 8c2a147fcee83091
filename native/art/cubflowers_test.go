package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/matfile"
)

// writeFile writes data to dir/name, creating the folders on the way.
func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// birdImage is a w x h grey JPEG with a coloured rectangle (the "bird") at
// [x0,x1) x [y0,y1), its colour set by the class.
func birdImage(w, h, x0, y0, x1, y1, class int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fg := []color.RGBA{{240, 200, 30, 255}, {30, 90, 230, 255}, {200, 40, 40, 255}}[class%3]
	for y := range h {
		for x := range w {
			c := color.RGBA{110, 120, 110, 255}
			if x >= x0 && x < x1 && y >= y0 && y < y1 {
				c = fg
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// writeCUBSplits writes a CUB-200-2011 directory (CUB_200_2011/ with the
// five annotation files and images/) of 3 classes: 6 training and 4 test
// images of various non-square sizes, each bird inside its bounding box.
func writeCUBSplits(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	root := filepath.Join(parent, "CUB_200_2011")
	const classes = 3
	var names, labels, split, boxes, cls strings.Builder
	for c := range classes {
		fmt.Fprintf(&cls, "%d %03d.Bird_%d\n", c+1, c+1, c)
	}
	for i := range 10 {
		id, class := i+1, i%classes
		w, h := 40+4*i, 30+2*i
		x0, y0, bw, bh := 3+i, 4, 16, 12+i%3
		name := fmt.Sprintf("%03d.Bird_%d/Bird_%d_%04d.jpg", class+1, class, class, id)
		fmt.Fprintf(&names, "%d %s\n", id, name)
		fmt.Fprintf(&labels, "%d %d\n", id, class+1)
		train := 1
		if i >= 6 {
			train = 0
		}
		fmt.Fprintf(&split, "%d %d\n", id, train)
		fmt.Fprintf(&boxes, "%d %d.0 %d.0 %d.0 %d.0\n", id, x0, y0, bw, bh)
		writeFile(t, root, "images/"+name, encodeJPEG(t, birdImage(w, h, x0, y0, x0+bw, y0+bh, class)))
	}
	for name, text := range map[string]string{"images.txt": names.String(), "image_class_labels.txt": labels.String(),
		"train_test_split.txt": split.String(), "bounding_boxes.txt": boxes.String(), "classes.txt": cls.String()} {
		writeFile(t, root, name, []byte(text))
	}
	return parent
}

// writeFlowers17Splits writes an Oxford Flowers-17 directory: jpg/ with
// images of classes 0 and 1, datasplits.mat with fold 1 (4 train, 2 val, 3
// test images; folds 2 and 3 repeat it) and palette trimaps (index 38 the
// flower, 1 the uncertain band, 0 background) for the val and test images.
func writeFlowers17Splits(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	palette := make(color.Palette, 40)
	for i := range palette {
		palette[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 255}
	}
	palette[38] = color.RGBA{128, 0, 0, 255}
	ids := []int{1, 2, 3, 81, 82, 83, 4, 84, 5}
	for i, id := range ids {
		class := (id - 1) / 80
		x0, y0 := 4+i, 6
		writeFile(t, dir, fmt.Sprintf("jpg/image_%04d.jpg", id), encodeJPEG(t, birdImage(48, 40, x0, y0, x0+20, y0+18, class)))
		tri := image.NewPaletted(image.Rect(0, 0, 48, 40), palette)
		for y := range 40 {
			for x := range 48 {
				switch {
				case x >= x0 && x < x0+20 && y >= y0 && y < y0+18:
					tri.SetColorIndex(x, y, 38)
				case x >= x0-1 && x < x0+21 && y >= y0-1 && y < y0+19:
					tri.SetColorIndex(x, y, 1)
				}
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, tri); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, fmt.Sprintf("trimaps/image_%04d.png", id), buf.Bytes())
	}
	splits := map[string][]float64{"trn": {1, 81, 2, 82}, "val": {3, 83}, "tst": {4, 84, 5}}
	var vars []*matfile.Array
	for _, fold := range []string{"1", "2", "3"} {
		for _, s := range []string{"trn", "val", "tst"} {
			v, err := matfile.NewArray(s+fold, []int{1, len(splits[s])}, splits[s])
			if err != nil {
				t.Fatal(err)
			}
			vars = append(vars, v)
		}
	}
	var buf bytes.Buffer
	if err := matfile.Write(&buf, vars...); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "datasplits.mat", buf.Bytes())
	return dir
}

// writeTorchResNet18 writes a converted torchvision resnet18() state_dict
// (torchvision's names, OIHW layout, 1000 classes, small random values) as
// docs/convert_torchvision.py would.
func writeTorchResNet18(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []*checkpoint.Tensor
	add := func(name string, fill func() float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = fill()
		}
		ts = append(ts, checkpoint.NewFloat32(name, shape, v))
	}
	normal := func() float32 { return float32(rng.NormFloat64() * 0.05) }
	one := func() float32 { return 1 }
	zero := func() float32 { return 0 }
	bn := func(name string, ch int) {
		add(name+".weight", one, ch)
		add(name+".bias", zero, ch)
		add(name+".running_mean", zero, ch)
		add(name+".running_var", one, ch)
		ts = append(ts, checkpoint.NewInt64(name+".num_batches_tracked", []int{}, []int64{0}))
	}
	add("conv1.weight", normal, 64, 3, 7, 7)
	bn("bn1", 64)
	in := 64
	for layer := 1; layer <= 4; layer++ {
		planes := 64 << (layer - 1)
		for b := range 2 {
			p := fmt.Sprintf("layer%d.%d.", layer, b)
			add(p+"conv1.weight", normal, planes, in, 3, 3)
			bn(p+"bn1", planes)
			add(p+"conv2.weight", normal, planes, planes, 3, 3)
			bn(p+"bn2", planes)
			if b == 0 && layer > 1 {
				add(p+"downsample.0.weight", normal, planes, in, 1, 1)
				bn(p+"downsample.1", planes)
			}
			in = planes
		}
	}
	add("fc.weight", normal, 1000, 512)
	add("fc.bias", zero, 1000)
	path := filepath.Join(t.TempDir(), "resnet18.ckpt")
	ck := &checkpoint.Checkpoint{Meta: checkpoint.Meta{Method: "torchvision", Dataset: "imagenet"}, Tensors: ts}
	if err := checkpoint.WriteFile(path, ck); err != nil {
		t.Fatal(err)
	}
	return path
}

// inUnit fails unless v is a fraction in [0, 1].
func inUnit(t *testing.T, what string, v float64) {
	t.Helper()
	if !(v >= 0 && v <= 1) {
		t.Errorf("%s = %v, want a fraction in [0,1]", what, v)
	}
}

// CUB end to end: `art train` on a CUB-200-2011 fixture in the real layout
// with ResNet-18 from (synthetic) torchvision weights, trained with ART
// under the paper's CUB recipe for every flag not given, then `art
// localize` (gradient maps and CAM) on the checkpoint.
func TestTrainAndLocalizeCUBFixtureFromPretrainedResNet(t *testing.T) {
	cub := writeCUBSplits(t)
	out := filepath.Join(t.TempDir(), "cub")
	var stdout bytes.Buffer
	err := runTrain([]string{"-data", "cub:" + cub, "-model", "ResNet-18", "-pretrained", writeTorchResNet18(t),
		"-method", "art", "-image-size", "32", "-batch", "2", "-epochs", "1", "-max-steps", "2", "-eval-n", "4", "-eval-pgd-n", "0",
		"-out", out, "-no-progress"}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	log := stdout.String()
	for _, want := range []string{
		"recipe art-cub", "-lr 0.01", "-attack-topk 15000", "-art-eps 2/255",
		"pretrained: 100 tensors", "classifier reinitialised for 3 classes: fc.weight is [1000 512], the model's [3 512]",
		"training ResNet-18 (11178051 parameters) on cub:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("train output lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "-batch 12") || strings.Contains(log, "-size 224") {
		t.Errorf("the recipe overrode a flag given on the command line:\n%s", log)
	}
	ck, err := checkpoint.ReadFile(filepath.Join(out, "model.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	h := ck.Meta.Hyper
	if ck.Meta.Arch.Name != "ResNet-18" || ck.Meta.Arch.InputSize != 32 || ck.Meta.Arch.NumClasses != 3 ||
		h["recipe"] != "art-cub" || h["lr"] != 0.01 || h["head_lr_factor"] != 10.0 || h["batch"] != 2.0 || h["weight_decay"] != 1e-4 ||
		ck.Meta.Training.Step != 2 || ck.Meta.Normalization.Mean[0] != 0.485 {
		t.Errorf("checkpoint meta: arch %+v, step %d, normalization %+v, hyper recipe %v lr %v batch %v weight_decay %v",
			ck.Meta.Arch, ck.Meta.Training.Step, ck.Meta.Normalization, h["recipe"], h["lr"], h["batch"], h["weight_decay"])
	}

	o := defaultLocalizeOptions()
	o.Ckpts, o.Data, o.Methods, o.N, o.ValN, o.Overlays, o.Batch, o.NoProgress =
		[]string{filepath.Join(out, "model.ckpt")}, "cub:"+cub, "grad,cam", 4, 0, 0, 2, true
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dataset != "cub/test" || r.Images != 4 || r.Masks || len(r.Results) != 2 {
		t.Fatalf("localize report: dataset %q, %d images, masks %v, %d results", r.Dataset, r.Images, r.Masks, len(r.Results))
	}
	for _, res := range r.Results {
		m := res.Metrics
		inUnit(t, res.Method+" GT-known Loc", m.GTKnownLoc)
		inUnit(t, res.Method+" Top-1 Loc", m.Top1Loc)
		inUnit(t, res.Method+" mean box IoU", m.MeanBoxIoU)
		if m.N != 4 || m.Top1Loc > m.GTKnownLoc || m.Top1Seg != nil {
			t.Errorf("%s: %+v", res.Method, m)
		}
	}
}

// Flowers-17 end to end: `art train` on a Flowers-17 fixture (jpg/,
// datasplits.mat, trimaps/) with VGG16-GAP, then `art localize`, which
// scores the maps against the trimap masks (Top-1 Seg).
func TestTrainAndLocalizeFlowers17FixtureWithVGG(t *testing.T) {
	flowers := writeFlowers17Splits(t)
	out := filepath.Join(t.TempDir(), "flowers")
	var stdout bytes.Buffer
	err := runTrain([]string{"-data", "flowers17:" + flowers, "-model", "VGG16-GAP", "-size", "32", "-batch", "2",
		"-epochs", "1", "-max-steps", "2", "-lr", "0.001", "-eval-n", "3", "-eval-pgd-n", "0", "-out", out, "-no-progress"},
		&stdout, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if log := stdout.String(); strings.Contains(log, "recipe") || !strings.Contains(log, "training VGG16-GAP") {
		t.Errorf("train output:\n%s", log)
	}
	ckPath := filepath.Join(out, "model.ckpt")
	ck, err := checkpoint.ReadFile(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Arch.Name != "VGG16-GAP" || ck.Meta.Arch.NumClasses != 17 || ck.Meta.Training.Step != 2 {
		t.Errorf("checkpoint meta: arch %+v, step %d", ck.Meta.Arch, ck.Meta.Training.Step)
	}
	o := defaultLocalizeOptions()
	o.Ckpts, o.Data, o.Methods, o.N, o.ValN, o.Overlays, o.Batch, o.NoProgress =
		[]string{ckPath}, "flowers17:"+flowers, "grad,gradcam", 3, 2, 0, 3, true
	o.Sweep = true
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != 3 || r.ValImages != 2 || !r.Masks || len(r.Results) != 2 {
		t.Fatalf("localize report: dataset %q, %d images, %d val, masks %v, %d results", r.Dataset, r.Images, r.ValImages, r.Masks, len(r.Results))
	}
	for _, res := range r.Results {
		m := res.Metrics
		if m.Top1Seg == nil || m.MeanMaskIoU == nil {
			t.Fatalf("%s: no Seg metrics with trimap masks: %+v", res.Method, m)
		}
		inUnit(t, res.Method+" Top-1 Seg", *m.Top1Seg)
		inUnit(t, res.Method+" mean mask IoU", *m.MeanMaskIoU)
		inUnit(t, res.Method+" GT-known Loc", m.GTKnownLoc)
		if *m.MeanMaskIoU == 0 {
			t.Errorf("%s: mean mask IoU is 0: no predicted mask overlaps the flowers", res.Method)
		}
	}
}
