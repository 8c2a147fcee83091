package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/artrobust/art/shared/attribution"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/localize"
	"github.com/artrobust/art/shared/model"
	"github.com/artrobust/art/shared/render"
	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// LocalizeOptions are the settings of "art localize"; the JSON names are
// the flags' names.
type LocalizeOptions struct {
	Ckpts     []string `json:"ckpt"`
	Data      string   `json:"data"`
	N         int      `json:"n"`
	ValN      int      `json:"val_n"`
	Methods   string   `json:"method"`
	IGSteps   int      `json:"ig_steps"`
	Threshold float64  `json:"threshold"`
	Sweep     bool     `json:"sweep"`
	Box       string   `json:"box"`
	Filter    int      `json:"filter"`
	Sigma     float64  `json:"sigma"`
	Low       float64  `json:"percentile_low"`
	High      float64  `json:"percentile_high"`
	Overlays  int      `json:"overlays"`
	Batch     int      `json:"batch"`
	Seed      uint64   `json:"seed"`
	Fold      int      `json:"fold"`

	Report     string `json:"-"`
	NoProgress bool   `json:"-"`
}

func defaultLocalizeOptions() LocalizeOptions {
	d := localize.DefaultOptions()
	return LocalizeOptions{Data: "shapes", N: 200, ValN: 100, Methods: "grad,ig", IGSteps: 50, Threshold: 0.2,
		Box: "largest", Filter: d.Filter, Low: d.Low, High: d.High, Overlays: 8, Batch: 25, Seed: 1, Fold: 1}
}

// percentiles is the "-percentile LOW,HIGH" flag.
type percentiles struct{ lo, hi *float64 }

func (p percentiles) String() string {
	if p.lo == nil {
		return ""
	}
	return fmt.Sprintf("%g,%g", *p.lo, *p.hi)
}

func (p percentiles) Set(s string) error {
	a, b, ok := strings.Cut(s, ",")
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil || !(0 <= lo && lo < hi && hi <= 100) {
		return fmt.Errorf("want LOW,HIGH percentiles such as 2,98, 0 <= LOW < HIGH <= 100, got %q", s)
	}
	*p.lo, *p.hi = lo, hi
	return nil
}

func runLocalize(args []string, stdout, stderr io.Writer) error {
	o := defaultLocalizeOptions()
	fs := flag.NewFlagSet("art localize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ckpts stringList
	fs.Var(&ckpts, "ckpt", "checkpoint (repeat for several)")
	fs.StringVar(&o.Data, "data", o.Data, "dataset with ground-truth boxes: shapes (boxes and masks), cub:PATH (boxes) or flowers17:PATH (trimap masks)")
	fs.IntVar(&o.N, "n", o.N, "test images (the first n of the test split)")
	fs.IntVar(&o.ValN, "val-n", o.ValN, "validation images for -sweep (the test split's next val-n images; flowers17: its val split)")
	fs.StringVar(&o.Methods, "method", o.Methods, "attribution maps, comma-separated: grad, ig, gradcam, cam")
	fs.IntVar(&o.IGSteps, "ig-steps", o.IGSteps, "Integrated Gradients steps")
	fs.Float64Var(&o.Threshold, "threshold", o.Threshold, "keep pixels above this fraction of the heat map's maximum")
	fs.BoolVar(&o.Sweep, "sweep", o.Sweep, "choose the threshold in 0, 0.05, ..., 0.95 with the best GT-known Loc on -val-n validation images")
	fs.StringVar(&o.Box, "box", o.Box, "box of the largest 8-connected component (largest) or of all pixels above the threshold (all)")
	fs.IntVar(&o.Filter, "filter", o.Filter, "side of the mean filter (odd; 1: none)")
	fs.Float64Var(&o.Sigma, "sigma", o.Sigma, "std in pixels of a Gaussian blur after the mean filter (0: none)")
	fs.Var(percentiles{&o.Low, &o.High}, "percentile", "clip the grayscale map to these percentiles before rescaling to [0,1]")
	fs.IntVar(&o.Overlays, "overlays", o.Overlays, "test images drawn as heat-map overlays with predicted and ground-truth boxes")
	fs.IntVar(&o.Batch, "batch", o.Batch, "images per attribution batch")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the shapes test split")
	fs.IntVar(&o.Fold, "fold", o.Fold, "Flowers-17 split fold (1..3)")
	fs.StringVar(&o.Report, "report", o.Report, "write localize.json, localize.md, a bar plot and overlays into this directory")
	fs.BoolVar(&o.NoProgress, "no-progress", o.NoProgress, "no progress bars")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: art localize -ckpt A [-ckpt B ...] [flags]\n\nWeakly supervised localization and segmentation from attribution maps (the paper's Table 2\nand Flowers study): map -> |map| over channels -> percentile clip -> mean filter -> threshold ->\nbox of the largest 8-connected component; GT-known Loc, Top-1 Loc, Top-1 Acc, Top-1 Seg.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.Ckpts = ckpts
	r, err := Localize(o, stdout, stderr)
	if err != nil {
		return err
	}
	return writeLocalizeReport(o, r, stdout)
}

// LocalizeResult is one checkpoint and map method's scores.
type LocalizeResult struct {
	Checkpoint  string           `json:"checkpoint"`
	Model       string           `json:"model"`
	Method      string           `json:"method"`
	Attribution string           `json:"attribution"`
	Metrics     localize.Metrics `json:"metrics"`
	// Sweep holds the validation scores at each threshold with -sweep.
	Sweep []localize.Metrics `json:"sweep,omitempty"`

	// The first -overlays test images, for the pictures.
	heat  [][]float32
	boxes []data.Box
}

// LocalizeReport is localize.json.
type LocalizeReport struct {
	Settings  LocalizeOptions  `json:"settings"`
	Dataset   string           `json:"dataset"`
	Images    int              `json:"images"`
	ValImages int              `json:"val_images"`
	Masks     bool             `json:"masks"`
	Note      string           `json:"note,omitempty"`
	Results   []LocalizeResult `json:"results"`
	Files     []string         `json:"files,omitempty"`

	test *data.Dataset
}

func localizeMethod(name string, igSteps int) (attribution.Method, error) {
	switch name {
	case "grad":
		return attribution.Gradient{Act: model.ReLU}, nil
	case "ig":
		if igSteps <= 0 {
			return nil, errors.New("-ig-steps must be positive")
		}
		return attribution.IntegratedGradients{Steps: igSteps, ChunkSize: 25, Act: model.ReLU}, nil
	case "gradcam":
		return attribution.GradCAM{Act: model.ReLU}, nil
	case "cam":
		return attribution.CAM{Act: model.ReLU}, nil
	}
	return nil, fmt.Errorf("unknown -method %q (want grad, ig, gradcam or cam)", name)
}

// loadLocalizeData loads the test images (and validation images for the
// sweep) of a dataset with boxes; masks where the dataset has them.
func loadLocalizeData(o LocalizeOptions, size int) (test, val *data.Dataset, err error) {
	spec, err := data.ParseSpec(o.Data)
	if err != nil {
		return nil, nil, err
	}
	want := o.N
	if o.Sweep {
		want += o.ValN
	}
	var all *data.Dataset
	switch spec.Name {
	case "flowers17":
		if all, err = data.LoadFlowers17Masks(spec.Path, "test", o.Fold, size); err != nil {
			return nil, nil, err
		}
		if o.Sweep {
			if val, err = data.LoadFlowers17Masks(spec.Path, "val", o.Fold, size); err != nil {
				return nil, nil, err
			}
		}
	case "cub":
		all, err = spec.Load("test", data.LoadOptions{Size: size, N: want})
	default:
		all, err = spec.Load("test", data.LoadOptions{Size: size, Seed: o.Seed})
	}
	if err != nil {
		return nil, nil, err
	}
	if all.Boxes == nil {
		return nil, nil, fmt.Errorf("localization needs ground-truth boxes, and %s has none (use shapes, cub:PATH or flowers17:PATH)", all.Name)
	}
	n := min(o.N, all.Len())
	test = all.Subset(firstN(n))
	if o.Sweep && val == nil {
		rest := make([]int, 0, o.ValN)
		for i := n; i < all.Len() && len(rest) < o.ValN; i++ {
			rest = append(rest, i)
		}
		val = all.Subset(rest)
	}
	if o.Sweep && val.Len() == 0 {
		return nil, nil, fmt.Errorf("-sweep needs validation images, and %s has none beyond the %d test images", all.Name, n)
	}
	if o.Sweep && val.Len() > o.ValN {
		val = val.Subset(firstN(o.ValN))
	}
	return test, val, nil
}

// Localize scores every checkpoint's maps of every method on the same images.
func Localize(o LocalizeOptions, stdout, stderr io.Writer) (*LocalizeReport, error) {
	if len(o.Ckpts) == 0 {
		return nil, errors.New("no -ckpt given")
	}
	if err := checkOutputDir("-report", o.Report); err != nil {
		return nil, err
	}
	if o.N <= 0 || o.Batch <= 0 || o.Overlays < 0 || (o.Sweep && o.ValN <= 0) {
		return nil, errors.New("-n, -batch (and -val-n with -sweep) must be positive and -overlays not negative")
	}
	if !(o.Threshold >= 0 && o.Threshold < 1) {
		return nil, fmt.Errorf("-threshold %g, want a fraction in [0, 1)", o.Threshold)
	}
	popts := localize.Options{Low: o.Low, High: o.High, Filter: o.Filter, Sigma: o.Sigma}
	if err := popts.Validate(); err != nil {
		return nil, err
	}
	mode, err := localize.ParseBoxMode(o.Box)
	if err != nil {
		return nil, err
	}
	if _, err := data.ParseSpec(o.Data); err != nil {
		return nil, err
	}
	var methods []string
	for _, name := range strings.Split(o.Methods, ",") {
		name = strings.TrimSpace(name)
		if _, err := localizeMethod(name, o.IGSteps); err != nil {
			return nil, err
		}
		methods = append(methods, name)
	}
	r := &LocalizeReport{Settings: o}
	var val *data.Dataset
	labels := modelLabels(o.Ckpts)
	for ci, path := range o.Ckpts {
		net, _, err := loadCheckpoint(path)
		if err != nil {
			return nil, err
		}
		if r.test == nil {
			if r.test, val, err = loadLocalizeData(o, net.Config.InputSize); err != nil {
				return nil, err
			}
			r.Dataset, r.Images, r.Masks = r.test.Name, r.test.Len(), r.test.Masks != nil
			if val != nil {
				r.ValImages = val.Len()
				r.Masks = r.Masks && val.Masks != nil
			}
			if !r.Masks {
				r.Note = r.test.Name + " has no ground-truth masks: Top-1 Seg and mask IoU are not measured"
			}
		}
		test := r.test
		if net.Config.InputSize != test.Height || net.Config.NumClasses != len(test.Classes) || net.Config.Channels != test.Channels {
			return nil, fmt.Errorf("%s expects %d classes of %dx%dx%d images; %s has %d classes of %dx%dx%d", path,
				net.Config.NumClasses, net.Config.InputSize, net.Config.InputSize, net.Config.Channels,
				test.Name, len(test.Classes), test.Height, test.Width, test.Channels)
		}
		for _, name := range methods {
			m, _ := localizeMethod(name, o.IGSteps)
			total := test.Len()
			if val != nil {
				total += val.Len()
			}
			bar := localizeBar(total, o.NoProgress, stderr, labels[ci]+" "+name)
			testS, err := localizeSamples(net, m, test, o.Batch, popts, bar)
			if err != nil {
				return nil, err
			}
			res := LocalizeResult{Checkpoint: path, Model: labels[ci], Method: name, Attribution: m.String()}
			if val != nil {
				valS, err := localizeSamples(net, m, val, o.Batch, popts, bar)
				if err != nil {
					return nil, err
				}
				sw, err := localize.Sweep(valS, testS, test.Height, test.Width, localize.SweepThresholds(), mode)
				if err != nil {
					return nil, err
				}
				res.Metrics, res.Sweep = sw.Test, sw.Validation
			} else if res.Metrics, err = localize.Score(testS, test.Height, test.Width, o.Threshold, mode); err != nil {
				return nil, err
			}
			_ = bar.Finish()
			fmt.Fprintln(stderr)
			for i := range min(o.Overlays, len(testS)) {
				box, _ := localize.Locate(testS[i].Heat, test.Height, test.Width, res.Metrics.Threshold, mode)
				res.heat, res.boxes = append(res.heat, testS[i].Heat), append(res.boxes, box)
			}
			r.Results = append(r.Results, res)
		}
	}
	return r, nil
}

func localizeBar(total int, off bool, w io.Writer, desc string) *progressbar.ProgressBar {
	if off {
		w = io.Discard
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetDescription(desc))
}

// localizeSamples computes the heat maps of the ground-truth class and the
// top-1 correctness of every image of ds.
func localizeSamples(net *model.Net, m attribution.Method, ds *data.Dataset, batch int, o localize.Options,
	bar interface{ Add(int) error }) ([]localize.Sample, error) {
	h, w, c := ds.Height, ds.Width, ds.Channels
	out := make([]localize.Sample, 0, ds.Len())
	err := forBatches(ds, firstN(ds.Len()), batch, func(x []float32, y []int, real int) error {
		logits, err := net.Predict(x, model.ReLU)
		if err != nil {
			return err
		}
		pred := model.Argmax(logits, net.Config.NumClasses)
		maps, err := attribution.Attribute(net, m, x, y)
		if err != nil {
			return err
		}
		for j := range real {
			heat, err := localize.Heat(maps[j*h*w*c:(j+1)*h*w*c], h, w, c, o)
			if err != nil {
				return err
			}
			i := len(out)
			out = append(out, localize.Sample{Heat: heat, Box: ds.Boxes[i], Mask: ds.Mask(i), Correct: pred[j] == y[j]})
		}
		return bar.Add(real)
	})
	return out, err
}

// modelLabels names checkpoints for tables and files: the file name without
// its extension, or the directory's name for a file called model.ckpt, made
// unique with a suffix.
func modelLabels(paths []string) []string {
	seen := map[string]int{}
	out := make([]string, len(paths))
	for i, p := range paths {
		l := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if l == "model" {
			l = filepath.Base(filepath.Dir(p))
		}
		seen[l]++
		if seen[l] > 1 {
			l = fmt.Sprintf("%s-%d", l, seen[l])
		}
		out[i] = l
	}
	return out
}

func localizeMarkdown(r *LocalizeReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Weakly supervised localization on %s: %d test images", r.Dataset, r.Images)
	if r.Settings.Sweep {
		fmt.Fprintf(&b, ", threshold chosen on %d validation images (best GT-known Loc over 0, 0.05, ..., 0.95)", r.ValImages)
	}
	fmt.Fprintf(&b, "; box of the %s pixels above the threshold; %g/%g percentile clip, %dx%d mean filter",
		map[string]string{"largest": "largest 8-connected component of the", "all": "all"}[r.Settings.Box],
		r.Settings.Low, r.Settings.High, r.Settings.Filter, r.Settings.Filter)
	if r.Settings.Sigma > 0 {
		fmt.Fprintf(&b, ", Gaussian sigma %g", r.Settings.Sigma)
	}
	b.WriteString(". Percent.\n\n")
	if r.Masks {
		b.WriteString("| model | map | GT-known Loc | Top-1 Loc | Top-1 Acc | Top-1 Seg | box mIoU | mask mIoU | threshold |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		b.WriteString("| model | map | GT-known Loc | Top-1 Loc | Top-1 Acc | box mIoU | threshold |\n|---|---|---:|---:|---:|---:|---:|\n")
	}
	for _, res := range r.Results {
		m := res.Metrics
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f |", res.Model, res.Method, 100*m.GTKnownLoc, 100*m.Top1Loc, 100*m.Top1Acc)
		if r.Masks {
			fmt.Fprintf(&b, " %.1f |", 100**m.Top1Seg)
		}
		fmt.Fprintf(&b, " %.1f |", 100*m.MeanBoxIoU)
		if r.Masks {
			fmt.Fprintf(&b, " %.1f |", 100**m.MeanMaskIoU)
		}
		fmt.Fprintf(&b, " %.2f |\n", m.Threshold)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "\nNote: %s.\n", r.Note)
	}
	return b.String()
}

// Overlay colours: predicted boxes green, ground-truth boxes magenta.
var (
	predBoxColor = color.RGBA{0, 230, 64, 255}
	trueBoxColor = color.RGBA{255, 0, 220, 255}
)

// overlayImage draws test image i beside its heat map, both with the
// predicted and ground-truth boxes, upscaled by factor (the paper's Fig. 5).
func overlayImage(test *data.Dataset, i int, heat []float32, pred data.Box, factor int) (*image.RGBA, error) {
	h, w, c := test.Height, test.Width, test.Channels
	img, err := render.ToRGBA(test.Image(i), h, w, c)
	if err != nil {
		return nil, err
	}
	hm, err := render.Heatmap(heat, h, w, render.DefaultColormap(render.Abs))
	if err != nil {
		return nil, err
	}
	scale := func(b data.Box) data.Box {
		f := float64(factor)
		return data.Box{X0: b.X0 * f, Y0: b.Y0 * f, X1: b.X1 * f, Y1: b.Y1 * f}
	}
	t := max(1, factor/3)
	var panels []*image.RGBA
	for _, p := range []*image.RGBA{img, hm} {
		up, err := render.Upscale(p, factor)
		if err != nil {
			return nil, err
		}
		render.DrawBox(up, scale(test.Boxes[i]), trueBoxColor, t)
		render.DrawBox(up, scale(pred), predBoxColor, t)
		panels = append(panels, up)
	}
	return render.Grid(panels, 2, max(2, factor/2), color.White)
}

// writeLocalizeReport prints the table and, with -report, writes
// localize.json, localize.md, the bar plot, the overlays and one sheet per
// map method with the models side by side.
func writeLocalizeReport(o LocalizeOptions, r *LocalizeReport, stdout io.Writer) error {
	md := localizeMarkdown(r)
	fmt.Fprint(stdout, "\n"+md)
	if o.Report == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(o.Report, "overlays"), 0o755); err != nil {
		return err
	}
	test := r.test
	full := "# Localization\n\n" + md
	if err := writeLocalizeBars(r, filepath.Join(o.Report, "localize_bars.png")); err != nil {
		return err
	}
	r.Files = append(r.Files, "localize_bars.png")
	full += "\n![GT-known Loc](localize_bars.png)\n"
	if n := min(o.Overlays, test.Len()); n > 0 {
		full += "\nOverlays: each image beside its heat map, predicted box green, ground-truth box magenta; one column per model, one row per image.\n"
		factor := max(1, (256+test.Width-1)/test.Width)
		sheetFactor := max(1, (128+test.Width-1)/test.Width)
		var order []string
		for _, res := range r.Results {
			if !containsString(order, res.Method) {
				order = append(order, res.Method)
			}
			for i := range n {
				img, err := overlayImage(test, i, res.heat[i], res.boxes[i], factor)
				if err != nil {
					return err
				}
				name := fmt.Sprintf("overlays/%s_%s_%03d.png", res.Model, res.Method, i)
				if err := writePNG(filepath.Join(o.Report, name), img, img.Bounds().Dx()); err != nil {
					return err
				}
				r.Files = append(r.Files, name)
			}
		}
		for _, method := range order {
			var cells []image.Image
			var cols int
			for i := range n {
				cols = 0
				for _, res := range r.Results {
					if res.Method != method {
						continue
					}
					img, err := overlayImage(test, i, res.heat[i], res.boxes[i], sheetFactor)
					if err != nil {
						return err
					}
					cells = append(cells, img)
					cols++
				}
			}
			sheet, err := render.Grid(cells, cols, 4, color.White)
			if err != nil {
				return err
			}
			name := "sheet_" + method + ".png"
			if err := writePNG(filepath.Join(o.Report, name), sheet, sheet.Bounds().Dx()); err != nil {
				return err
			}
			r.Files = append(r.Files, name)
			var models []string
			for _, res := range r.Results {
				if res.Method == method {
					models = append(models, res.Model)
				}
			}
			full += fmt.Sprintf("\n%s maps (columns: %s):\n\n![%s](%s)\n", method, strings.Join(models, ", "), name, name)
		}
	}
	if err := writeJSON(filepath.Join(o.Report, "localize.json"), r); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.Report, "localize.md"), []byte(full), 0o644)
}

// writeLocalizeBars draws GT-known Loc as grouped bars: one group per model,
// one bar per map method.
func writeLocalizeBars(r *LocalizeReport, path string) error {
	p := plot.New()
	p.Title.Text = "GT-known Loc on " + r.Dataset
	p.Y.Label.Text = "percent"
	p.Y.Min, p.Y.Max = 0, 100
	var models, methods []string
	for _, res := range r.Results {
		if len(models) == 0 || models[len(models)-1] != res.Model {
			models = append(models, res.Model)
		}
		if !containsString(methods, res.Method) {
			methods = append(methods, res.Method)
		}
	}
	width := vg.Points(60 / float64(len(methods)))
	for k, method := range methods {
		v := make(plotter.Values, len(models))
		for _, res := range r.Results {
			if res.Method == method {
				for mi, name := range models {
					if name == res.Model {
						v[mi] = 100 * res.Metrics.GTKnownLoc
					}
				}
			}
		}
		bars, err := plotter.NewBarChart(v, width)
		if err != nil {
			return err
		}
		bars.Color = palette[k%len(palette)]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(k)-float64(len(methods)-1)/2)
		p.Add(bars)
		p.Legend.Add(method, bars)
	}
	p.Legend.Top = true
	p.NominalX(models...)
	return savePanels([]*plot.Plot{p}, path, vg.Length(max(4, 1.5*float64(len(models))))*vg.Inch)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
