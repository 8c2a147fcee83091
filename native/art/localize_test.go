package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/matfile"
	"github.com/artrobust/art/shared/model"
)

func quickLocalizeOptions(ckpts []string, dir string) LocalizeOptions {
	o := defaultLocalizeOptions()
	o.Ckpts, o.Report, o.NoProgress = ckpts, dir, true
	o.N, o.ValN, o.IGSteps, o.Overlays, o.Batch = 12, 6, 4, 2, 5
	return o
}

// The report has every model x method with scores in range, Top-1 Acc equal
// to the accuracy measured by eval's code, and overlays with both boxes.
func TestLocalizeReportsScoresAndOverlays(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	o := quickLocalizeOptions([]string{ck, ck}, dir)
	o.Methods = "grad,ig,gradcam,cam"
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeLocalizeReport(o, r, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Settings map[string]any `json:"settings"`
		Dataset  string         `json:"dataset"`
		Images   int            `json:"images"`
		Masks    bool           `json:"masks"`
		Results  []struct {
			Model, Method, Attribution string
			Metrics                    map[string]float64 `json:"metrics"`
		} `json:"results"`
		Files []string `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "localize.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Dataset != "shapes/test" || got.Images != 12 || !got.Masks || len(got.Results) != 8 {
		t.Fatalf("dataset %q, %d images, masks %v, %d results; want shapes/test, 12, true, 8", got.Dataset, got.Images, got.Masks, len(got.Results))
	}
	for _, k := range []string{"ckpt", "data", "n", "method", "ig_steps", "threshold", "sweep", "box", "filter", "sigma", "percentile_low", "percentile_high", "overlays", "batch"} {
		if _, ok := got.Settings[k]; !ok {
			t.Errorf("settings lack %q", k)
		}
	}
	net, _, err := loadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Shapes(data.ShapesConfig{N: 2000, Size: net.Config.InputSize, Seed: o.Seed, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accuracy(net, test, firstN(12))
	if err != nil {
		t.Fatal(err)
	}
	wantMethods := []string{"grad", "ig", "gradcam", "cam"}
	for i, res := range got.Results {
		m := res.Metrics
		if res.Method != wantMethods[i%4] || res.Model != []string{"natural", "natural-2"}[i/4] {
			t.Errorf("result %d is %s/%s", i, res.Model, res.Method)
		}
		for _, k := range []string{"gt_known_loc", "top1_loc", "top1_acc", "top1_seg", "mean_box_iou", "mean_mask_iou"} {
			v, ok := m[k]
			if !ok || !(v >= 0 && v <= 1) {
				t.Errorf("%s/%s: %s = %v (present %v), want in [0,1]", res.Model, res.Method, k, v, ok)
			}
		}
		if m["top1_loc"] > m["gt_known_loc"] || m["top1_loc"] > m["top1_acc"] || m["top1_seg"] > m["top1_acc"] {
			t.Errorf("%s/%s: top-1 scores above their bounds: %v", res.Model, res.Method, m)
		}
		if math.Abs(m["top1_acc"]-acc) > 1e-9 || m["threshold"] != 0.2 || m["n"] != 12 {
			t.Errorf("%s/%s: top1_acc %v (eval's accuracy %v), threshold %v, n %v", res.Model, res.Method, m["top1_acc"], acc, m["threshold"], m["n"])
		}
		// Same checkpoint twice: the same numbers.
		if i >= 4 {
			for k, v := range m {
				if got.Results[i-4].Metrics[k] != v {
					t.Errorf("%s: %s %v vs %v for the same checkpoint", res.Method, k, v, got.Results[i-4].Metrics[k])
				}
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "localize.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| GT-known Loc | Top-1 Loc | Top-1 Acc | Top-1 Seg |", "| natural | ig |", "sheet_grad.png", "localize_bars.png"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("localize.md lacks %q", s)
		}
	}
	// 2 overlays per model and method, plus 4 sheets and the bar plot.
	if len(got.Files) != 16+4+1 {
		t.Errorf("%d files: %v", len(got.Files), got.Files)
	}
	for _, f := range got.Files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "overlays", "natural_grad_000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The image and its heat map, each 16x upscaled, 8 pixels apart.
	if img.Bounds().Dx() != 520 || img.Bounds().Dy() != 256 {
		t.Errorf("overlay is %v, want 520x256", img.Bounds())
	}
	// The ground-truth box is drawn on its top-left corner (16x upscaled).
	x0, y0 := int(16*test.Boxes[0].X0), int(16*test.Boxes[0].Y0)
	if r, g, b, _ := img.At(x0, y0).RGBA(); r>>8 != 255 || g>>8 != 0 || b>>8 != 220 {
		t.Errorf("pixel at the ground-truth box's corner (%d,%d) is %d,%d,%d; want the box colour", x0, y0, r>>8, g>>8, b>>8)
	}
	seen := false
	for y := range 256 {
		for x := range 520 {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == 0 && g>>8 == 230 && b>>8 == 64 {
				seen = true
			}
		}
	}
	if !seen {
		t.Error("no pixel of the predicted box's colour in the overlay")
	}
}

// With -sweep the threshold comes from validation images and the report
// carries the validation curve.
func TestLocalizeSweepChoosesThresholdOnValidation(t *testing.T) {
	ck := tinyCheckpoint(t)
	o := quickLocalizeOptions([]string{ck}, "")
	o.Methods, o.Sweep = "grad", true
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.ValImages != 6 || len(r.Results) != 1 {
		t.Fatalf("%d validation images, %d results", r.ValImages, len(r.Results))
	}
	res := r.Results[0]
	if len(res.Sweep) != 20 {
		t.Fatalf("%d sweep points, want 20", len(res.Sweep))
	}
	best := -1.0
	for _, m := range res.Sweep {
		if m.N != 6 {
			t.Fatalf("validation point with %d images", m.N)
		}
		best = math.Max(best, m.GTKnownLoc)
	}
	k := int(math.Round(res.Metrics.Threshold * 20))
	if res.Sweep[k].GTKnownLoc != best || res.Metrics.N != 12 {
		t.Errorf("chose threshold %v with validation GT-known Loc %v; best is %v", res.Metrics.Threshold, res.Sweep[k].GTKnownLoc, best)
	}
	for _, m := range res.Sweep[:k] {
		if m.GTKnownLoc == best {
			t.Errorf("a lower threshold %v ties the best", m.Threshold)
		}
	}
}

func TestLocalizeRejectsBadSettings(t *testing.T) {
	cases := map[string][]string{
		"unknown -method":   {"-ckpt", "x.ckpt", "-method", "grad,lime"},
		"box mode":          {"-ckpt", "x.ckpt", "-box", "biggest"},
		"LOW,HIGH":          {"-ckpt", "x.ckpt", "-percentile", "98"},
		"percentiles":       {"-ckpt", "x.ckpt", "-percentile", "98,2"},
		"mean filter":       {"-ckpt", "x.ckpt", "-filter", "4"},
		"-threshold":        {"-ckpt", "x.ckpt", "-threshold", "1.5"},
		"no -ckpt":          {"-n", "3"},
		"must be positive":  {"-ckpt", "x.ckpt", "-n", "0"},
		"-ig-steps":         {"-ckpt", "x.ckpt", "-method", "ig", "-ig-steps", "0"},
		"unexpected":        {"-ckpt", "x.ckpt", "extra"},
		"sigma":             {"-ckpt", "x.ckpt", "-sigma", "-1"},
		"x.ckpt":            {"-ckpt", "x.ckpt"},
		"unknown dataset":   {"-ckpt", "x.ckpt", "-data", "imagenet"},
		"val-n with -sweep": {"-ckpt", "x.ckpt", "-sweep", "-val-n", "0"},
	}
	for want, args := range cases {
		err := runLocalize(append(args, "-no-progress"), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line naming %q", args, err, want)
		}
	}
}

// A dataset without boxes (CIFAR-10) is refused with an error that says
// localization needs them.
func TestLocalizeNeedsBoxes(t *testing.T) {
	ck := tinyCheckpoint(t)
	dir := t.TempDir()
	rec := make([]byte, 2*3073)
	if err := os.WriteFile(filepath.Join(dir, "test_batch.bin"), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	err := runLocalize([]string{"-ckpt", ck, "-data", "cifar10:" + dir, "-no-progress"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "localization needs ground-truth boxes") || !strings.Contains(err.Error(), "cifar10/test") {
		t.Fatalf("error %v, want one saying localization needs boxes", err)
	}
}

// Without masks the table has no segmentation columns and says why.
func TestLocalizeMarkdownOmitsSegWithoutMasks(t *testing.T) {
	r := &LocalizeReport{Settings: defaultLocalizeOptions(), Dataset: "cub/test", Images: 3,
		Note: "cub/test has no ground-truth masks: Top-1 Seg and mask IoU are not measured"}
	r.Results = []LocalizeResult{{Model: "art", Method: "grad"}}
	r.Results[0].Metrics.GTKnownLoc, r.Results[0].Metrics.Top1Loc, r.Results[0].Metrics.Threshold = 2.0/3, 1.0/3, 0.2
	md := localizeMarkdown(r)
	if strings.Contains(md, "Seg |") || strings.Contains(md, "mask mIoU") {
		t.Errorf("segmentation columns without masks:\n%s", md)
	}
	if !strings.Contains(md, "| art | grad | 66.7 | 33.3 | 0.0 | 0.0 | 0.20 |") || !strings.Contains(md, "no ground-truth masks") {
		t.Errorf("table or note missing:\n%s", md)
	}
}

// writeCUB writes a four-image CUB-200-2011 test split with the given number
// of classes (so that a tiny model fits it), every image 24x20 pixels with a
// bright square on grey inside its box.
func writeCUB(t *testing.T, classes int) string {
	t.Helper()
	dir := t.TempDir()
	var names, labels, split, boxes, cls strings.Builder
	for c := range classes {
		fmt.Fprintf(&cls, "%d %03d.c%d\n", c+1, c+1, c)
	}
	for i := range 4 {
		name := fmt.Sprintf("001.c0/img_%d.jpg", i)
		fmt.Fprintf(&names, "%d %s\n", i+1, name)
		fmt.Fprintf(&labels, "%d %d\n", i+1, 1+i%classes)
		fmt.Fprintf(&split, "%d 0\n", i+1)
		fmt.Fprintf(&boxes, "%d %d 4 10 8\n", i+1, 2+2*i)
		img := image.NewRGBA(image.Rect(0, 0, 24, 20))
		for y := range 20 {
			for x := range 24 {
				c := color.RGBA{120, 120, 120, 255}
				if x >= 2+2*i && x < 12+2*i && y >= 4 && y < 12 {
					c = color.RGBA{250, 220, 30, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "images", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{"images.txt": names.String(), "image_class_labels.txt": labels.String(),
		"train_test_split.txt": split.String(), "bounding_boxes.txt": boxes.String(), "classes.txt": cls.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// CUB has boxes but no masks: the boxes are scored, the Seg metrics are
// absent from the JSON and the table, and a note says why.
func TestLocalizeWithoutMasksOmitsSeg(t *testing.T) {
	ck := tinyCheckpoint(t)
	net, _, err := loadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := quickLocalizeOptions([]string{ck}, dir)
	o.Data, o.Methods, o.N, o.ValN, o.Sweep = "cub:"+writeCUB(t, net.Config.NumClasses), "grad", 3, 1, true
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeLocalizeReport(o, r, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := r.Results[0].Metrics
	if r.Dataset != "cub/test" || r.Images != 3 || r.ValImages != 1 || r.Masks || m.Top1Seg != nil || m.MeanMaskIoU != nil || m.N != 3 {
		t.Fatalf("report %+v, metrics %+v", r, m)
	}
	if !(m.MeanBoxIoU > 0 && m.MeanBoxIoU <= 1) {
		t.Errorf("mean box IoU %v, want in (0,1]", m.MeanBoxIoU)
	}
	b, err := os.ReadFile(filepath.Join(dir, "localize.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "top1_seg") || !strings.Contains(string(b), `"note": "cub/test has no ground-truth masks`) {
		t.Errorf("localize.json has Seg keys or lacks the note:\n%s", b)
	}
	md, err := os.ReadFile(filepath.Join(dir, "localize.md"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "| Top-1 Seg |") || !strings.Contains(string(md), "no ground-truth masks") {
		t.Errorf("localize.md:\n%s", md)
	}
}

// writeFlowers17 writes a Flowers-17 directory whose fold-1 test split is
// images 2, 82 and 161 (161 without a trimap) and whose validation split is
// image 81: 20x15 JPEGs, datasplits.mat and 16x12 palette trimaps with the
// flower (index 38) on a rectangle.
func writeFlowers17(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"jpg", "trimaps"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, enc func(io.Writer) error) {
		var buf bytes.Buffer
		if err := enc(&buf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	palette := make(color.Palette, 40)
	for i := range palette {
		palette[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 255}
	}
	for k, id := range []int{1, 2, 81, 82, 161} {
		img := image.NewRGBA(image.Rect(0, 0, 20, 15))
		tri := image.NewPaletted(image.Rect(0, 0, 16, 12), palette)
		for y := range 15 {
			for x := range 20 {
				c := color.RGBA{90, 140, 60, 255}
				if x >= 3+k && x < 12+k && y >= 3 && y < 11 {
					c = color.RGBA{230, 60, 120, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		for y := 2; y < 9; y++ {
			for x := 2 + k; x < 10+k; x++ {
				tri.SetColorIndex(x, y, 38)
			}
		}
		write(filepath.Join(dir, "jpg", fmt.Sprintf("image_%04d.jpg", id)), func(w io.Writer) error {
			return jpeg.Encode(w, img, &jpeg.Options{Quality: 95})
		})
		if id != 161 {
			write(filepath.Join(dir, "trimaps", fmt.Sprintf("image_%04d.png", id)), func(w io.Writer) error { return png.Encode(w, tri) })
		}
	}
	splits := map[string][]float64{
		"trn1": {1}, "val1": {81}, "tst1": {2, 82, 161},
		"trn2": {82}, "val2": {1, 2}, "tst2": {81},
		"trn3": {2}, "val3": {81, 82}, "tst3": {1, 161},
	}
	var vars []*matfile.Array
	for _, name := range []string{"trn1", "trn2", "trn3", "val1", "val2", "val3", "tst1", "tst2", "tst3"} {
		v, err := matfile.NewArray(name, []int{1, len(splits[name])}, splits[name])
		if err != nil {
			t.Fatal(err)
		}
		vars = append(vars, v)
	}
	write(filepath.Join(dir, "datasplits.mat"), func(w io.Writer) error { return matfile.Write(w, vars...) })
	return dir
}

// randomCheckpoint writes an untrained WRN-10-1 for classes classes of
// size x size RGB images.
func randomCheckpoint(t *testing.T, classes, size int) string {
	t.Helper()
	cfg, err := model.ParseArch("WRN-10-1", classes, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := newBackend(trainingWork)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet(backend, cfg, cfg.InitValues(5))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := net.Checkpoint(checkpoint.Meta{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "random.ckpt")
	if err := checkpoint.WriteFile(path, ck); err != nil {
		t.Fatal(err)
	}
	return path
}

// Flowers-17 is scored on the images of the split that have trimaps, with
// the trimaps as masks, and the sweep takes its validation images from the
// val split.
func TestLocalizeFlowers17UsesTrimapsAndValSplit(t *testing.T) {
	ck := randomCheckpoint(t, 17, 16)
	o := quickLocalizeOptions([]string{ck}, "")
	o.Data, o.Methods, o.Sweep = "flowers17:"+writeFlowers17(t), "grad,cam", true
	r, err := Localize(o, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dataset != "flowers17/test1/trimaps" || r.Images != 2 || r.ValImages != 1 || !r.Masks || r.Note != "" {
		t.Fatalf("dataset %q, %d images, %d validation, masks %v, note %q", r.Dataset, r.Images, r.ValImages, r.Masks, r.Note)
	}
	if r.test.Labels[0] != 0 || r.test.Labels[1] != 1 {
		t.Errorf("labels %v, want [0 1] (images 2 and 82)", r.test.Labels)
	}
	for _, res := range r.Results {
		m := res.Metrics
		if m.Top1Seg == nil || m.MeanMaskIoU == nil || !(*m.MeanMaskIoU > 0 && *m.MeanMaskIoU <= 1) || len(res.Sweep) != 20 || res.Sweep[0].N != 1 {
			t.Errorf("%s: metrics %+v, %d sweep points", res.Method, m, len(res.Sweep))
		}
	}
}
