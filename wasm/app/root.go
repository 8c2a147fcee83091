package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/render"
	"github.com/artrobust/art/wasm/protocol"
	"github.com/vugu/vugu"
	js "github.com/vugu/vugu/js"
)

// Gallery: test images of the built-in shapes dataset, generated here.
const (
	gallerySeed = 2020
	gallerySize = 10000
	galleryPage = 12
)

// Root is the page.
type Root struct {
	env    vugu.EventEnv
	client *client

	// Engine state.
	Status  string // what the page is doing, or why it cannot
	Failed  bool
	Engine  string
	Ready   bool
	Models  []protocol.Card
	Cols    []*column
	Started time.Time
	// Warnings are load problems that did not stop the page (a broken
	// checkpoint is skipped).
	Warnings []string

	// The image.
	GalleryStart int
	Gallery      []sample
	Image        []float32
	ImageURL     string
	ImageLabel   string
	UploadErr    string
	// Err is the last failed prediction or map.
	Err string

	// Attribution settings.
	Method protocol.Method
	View   view

	// The attack.
	Attack     protocol.Attack
	AttackID   int
	Attacking  bool
	Stopping   bool
	AttackNote string

	// chartURL caches Chart until the steps or settings change.
	chartURL string

	// Busy says what runs (empty when idle); the page shows its elapsed time.
	Busy      string
	busySince time.Time
}

type sample struct {
	Index int
	Label string
	Image []float32
	URL   string
}

type classProb struct {
	Name    string
	Percent float64
}

// column shows one model: its card, prediction, map and attack.
type column struct {
	Slot int
	ID   string
	Card protocol.Card

	Probs []float32
	Top   []classProb

	Map       []float32
	MapURL    string
	MapTitle  string
	MapMillis float64

	Steps   []protocol.Step
	Summary *protocol.Summary
	Shown   int // index into Steps of the iterate shown
	// Pictures of the shown iterate.
	OrigURL, AdvURL, PertURL, Map0URL, AdvMapURL string
}

// Init starts the engine (called once by Vugu).
func (c *Root) Init(ctx vugu.InitCtx) {
	c.env = ctx.EventEnv()
	c.Started = time.Now()
	c.Method = protocol.Method{Name: protocol.IntegratedGradient, Steps: 32, Samples: 16, Sigma: 0.15}
	c.View = view{Sign: render.Abs, Colormap: "inferno", Opacity: 0.7}
	c.Attack = protocol.DefaultAttack()
	c.Status = "Starting the engine…"
	if !js.Global().Truthy() {
		return // not in a browser
	}
	c.client = newClient("worker.js", func(r protocol.Response) {
		if r.Kind == protocol.KindError {
			c.update(func() { c.fail(r.Error) })
		}
	})
	go c.start()
}

// update changes the page's state from a goroutine and renders it.
func (c *Root) update(f func()) {
	c.env.Lock()
	defer c.env.UnlockRender()
	f()
}

func (c *Root) fail(msg string) {
	c.Failed, c.Status, c.Busy = true, msg, ""
}

// busy marks the start of an operation; done its end.
func (c *Root) busy(what string) {
	c.Busy, c.busySince = what, time.Now()
	go func() {
		// Re-render the elapsed time while the operation runs.
		for {
			time.Sleep(250 * time.Millisecond)
			still := false
			c.update(func() { still = c.Busy == what })
			if !still {
				return
			}
		}
	}()
}

// BusyText is the progress line.
func (c *Root) BusyText() string {
	if c.Busy == "" {
		return ""
	}
	return fmt.Sprintf("%s… %.1f s", c.Busy, time.Since(c.busySince).Seconds())
}

func (c *Root) backend() string {
	q := js.Global().Get("location").Get("search").String()
	if i := strings.Index(q, "engine="); i >= 0 {
		v := q[i+len("engine="):]
		if j := strings.IndexByte(v, '&'); j >= 0 {
			v = v[:j]
		}
		return v
	}
	return js.Global().Get("artDefaultBackend").String()
}

func (c *Root) start() {
	backend := c.backend()
	if backend == "<undefined>" {
		backend = ""
	}
	c.update(func() { c.busy("Loading the engine and models") })
	r := c.client.call(protocol.Request{Op: protocol.OpInit, Backend: backend}, func(p protocol.Response) {
		c.update(func() {
			c.Status = p.Progress
			if isWarning(p.Progress) {
				c.Warnings = append(c.Warnings, p.Progress)
			}
		})
	})
	if r.Kind == protocol.KindError {
		c.update(func() { c.fail("The engine did not start: " + r.Error) })
		return
	}
	c.update(func() {
		c.Busy = ""
		c.Engine, c.Models, c.Ready = r.Engine, r.Models, true
		c.Status = fmt.Sprintf("Ready in %.1f s.", time.Since(c.Started).Seconds())
		c.Cols = defaultColumns(r.Models)
		c.loadGallery()
		if len(c.Gallery) > 0 {
			c.setImage(c.Gallery[0].Image, c.Gallery[0].Label)
		}
	})
	c.predict()
}

// call sends a request and waits for its answer, keeping the engine's name
// and warnings up to date.
func (c *Root) call(req protocol.Request) protocol.Response {
	r := c.client.call(req, func(p protocol.Response) {
		if isWarning(p.Progress) {
			c.update(func() { c.Warnings = append(c.Warnings, p.Progress) })
		}
	})
	if r.Engine != "" {
		c.update(func() { c.Engine = r.Engine })
	}
	return r
}

// isWarning tells the progress lines the page keeps: load problems that did
// not stop it.
func isWarning(progress string) bool {
	for _, p := range []string{"skipped ", "no checkpoints", "ONNX Runtime failed"} {
		if strings.HasPrefix(progress, p) {
			return true
		}
	}
	return false
}

// defaultColumns shows a naturally trained model beside an ART one when the
// checkpoints say which is which, else the first two models.
func defaultColumns(cards []protocol.Card) []*column {
	pick := func(method string, not string) (protocol.Card, bool) {
		for _, m := range cards {
			if strings.EqualFold(m.Method, method) && m.ID != not {
				return m, true
			}
		}
		return protocol.Card{}, false
	}
	var cols []*column
	left, ok := pick("natural", "")
	if !ok && len(cards) > 0 {
		left = cards[0]
	}
	cols = append(cols, &column{Slot: 0, ID: left.ID, Card: left})
	right, ok := pick("art", left.ID)
	if !ok {
		for _, m := range cards {
			if m.ID != left.ID {
				right, ok = m, true
				break
			}
		}
	}
	if ok {
		cols = append(cols, &column{Slot: 1, ID: right.ID, Card: right})
	}
	return cols
}

// Untrained reports whether a shown model is untrained.
func (c *Root) Untrained() bool {
	for _, col := range c.Cols {
		if col.Card.Untrained {
			return true
		}
	}
	return false
}

func (c *Root) inputShape() (size, ch int) {
	if len(c.Cols) == 0 {
		return data.DefaultShapesSize, 3
	}
	return c.Cols[0].Card.InputSize, c.Cols[0].Card.Channels
}

func (c *Root) loadGallery() {
	size, _ := c.inputShape()
	idx := make([]int, galleryPage)
	for i := range idx {
		idx[i] = (c.GalleryStart + i) % gallerySize
	}
	d, err := data.ShapesAt(data.ShapesConfig{N: gallerySize, Size: size, Seed: gallerySeed, Split: "test"}, idx)
	if err != nil {
		c.Gallery = nil
		c.UploadErr = "gallery: " + err.Error()
		return
	}
	c.Gallery = c.Gallery[:0]
	for i := range idx {
		img := d.Image(i)
		if _, ch := c.inputShape(); ch == 1 {
			img = gray(img)
		}
		c.Gallery = append(c.Gallery, sample{Index: idx[i], Label: d.Classes[d.Labels[i]], Image: img,
			URL: imageURL(img, size, c.channels())})
	}
}

func (c *Root) channels() int { _, ch := c.inputShape(); return ch }

func gray(rgb []float32) []float32 {
	out := make([]float32, len(rgb)/3)
	for i := range out {
		out[i] = 0.299*rgb[3*i] + 0.587*rgb[3*i+1] + 0.114*rgb[3*i+2]
	}
	return out
}

// MoreSamples shows the next page of the gallery.
func (c *Root) MoreSamples(e vugu.DOMEvent) {
	c.GalleryStart = (c.GalleryStart + galleryPage) % gallerySize
	c.loadGallery()
}

// Pick selects gallery image i.
func (c *Root) Pick(e vugu.DOMEvent, i int) {
	if c.Busy != "" || i < 0 || i >= len(c.Gallery) {
		return
	}
	s := c.Gallery[i]
	c.setImage(s.Image, fmt.Sprintf("shapes test image %d, true class: %s", s.Index, s.Label))
	go c.predict()
}

func (c *Root) setImage(img []float32, label string) {
	c.chartURL = ""
	size, ch := c.inputShape()
	c.Image, c.ImageLabel, c.ImageURL = img, label, imageURL(img, size, ch)
	c.UploadErr, c.Err, c.AttackNote = "", "", ""
	for _, col := range c.Cols {
		col.Probs, col.Top, col.Map, col.MapURL, col.MapTitle = nil, nil, nil, "", ""
		col.Steps, col.Summary = nil, nil
	}
}

// Upload reads the file chosen in the file input.
func (c *Root) Upload(e vugu.DOMEvent) {
	files := e.JSEventTarget().Get("files")
	if !files.Truthy() || files.Length() == 0 || c.Busy != "" {
		return
	}
	f := files.Index(0)
	name, size := f.Get("name").String(), f.Get("size").Int()
	if size > maxUploadBytes {
		c.UploadErr = fmt.Sprintf("%s has %.1f MB; the limit is %d MB.", name, float64(size)/(1<<20), maxUploadBytes>>20)
		return
	}
	c.UploadErr = ""
	c.busy("Reading " + name)
	go func() {
		b, err := readFile(f)
		var img []float32
		if err == nil {
			s, ch := c.inputShape()
			img, err = decodeUpload(b, s, ch)
		}
		c.update(func() {
			c.Busy = ""
			if err != nil {
				c.UploadErr = name + ": " + err.Error()
				return
			}
			c.setImage(img, "uploaded: "+name)
		})
		if err == nil {
			c.predict()
		}
	}()
}

// predict asks every column's model for the class probabilities.
func (c *Root) predict() {
	var cols []*column
	var img []float32
	c.update(func() {
		cols, img = slices.Clone(c.Cols), c.Image
		c.Err = ""
		c.busy("Predicting")
	})
	for _, col := range cols {
		r := c.call(protocol.Request{Op: protocol.OpPredict, Model: col.ID, Image: img})
		c.update(func() {
			if r.Kind == protocol.KindError {
				c.Err = col.Card.Title + ": " + r.Error
				return
			}
			col.Probs = r.Probs
			col.Top = topClasses(r.Probs, col.Card.Classes, 3)
		})
	}
	c.update(func() { c.Busy = "" })
	c.explain()
}

func topClasses(p []float32, names []string, n int) []classProb {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	var out []classProb
	for _, i := range idx[:min(n, len(idx))] {
		name := fmt.Sprintf("class %d", i)
		if i < len(names) {
			name = names[i]
		}
		out = append(out, classProb{Name: name, Percent: 100 * float64(p[i])})
	}
	return out
}

// Explain computes the maps with the chosen method.
func (c *Root) Explain(e vugu.DOMEvent) {
	if c.Busy == "" {
		go c.explain()
	}
}

func (c *Root) explain() {
	var cols []*column
	var img []float32
	var m protocol.Method
	c.update(func() {
		cols, img, m = slices.Clone(c.Cols), c.Image, c.Method
		c.Err = ""
		c.busy(m.String() + " maps")
	})
	if err := m.Validate(); err != nil {
		c.update(func() { c.Busy, c.Err = "", err.Error() })
		return
	}
	for _, col := range cols {
		r := c.call(protocol.Request{Op: protocol.OpAttribute, Model: col.ID, Image: img, Target: -1, Method: &m})
		c.update(func() {
			if r.Kind == protocol.KindError {
				c.Err = col.Card.Title + ": " + r.Error
				return
			}
			col.Map, col.MapMillis = r.Map, r.Millis
			col.MapTitle = fmt.Sprintf("%s of “%s”", m, col.predName())
			c.redraw(col)
		})
	}
	c.update(func() { c.Busy = "" })
}

func (col *column) pred() int {
	if len(col.Probs) == 0 {
		return -1
	}
	best := 0
	for i, p := range col.Probs {
		if p > col.Probs[best] {
			best = i
		}
	}
	return best
}

func (col *column) predName() string { return col.className(col.pred()) }

func (col *column) className(i int) string {
	if i >= 0 && i < len(col.Card.Classes) {
		return col.Card.Classes[i]
	}
	return fmt.Sprintf("class %d", i)
}

// redraw renders a column's pictures with the current view settings.
func (c *Root) redraw(col *column) {
	c.chartURL = ""
	size, ch := c.inputShape()
	col.MapURL = ""
	if len(col.Map) == len(c.Image) {
		col.MapURL = mapURL(c.Image, col.Map, size, ch, c.View)
	}
	col.OrigURL, col.AdvURL, col.PertURL, col.Map0URL, col.AdvMapURL = "", "", "", "", ""
	if len(col.Steps) == 0 {
		return
	}
	s0, s := col.Steps[0], col.Steps[min(col.Shown, len(col.Steps)-1)]
	col.OrigURL = imageURL(s0.Image, size, ch)
	col.AdvURL = imageURL(s.Image, size, ch)
	col.PertURL = perturbationURL(s.Image, s0.Image, c.Attack.Eps/255, size, ch)
	// Attack maps are |map| saliency, shown as plain heatmaps so that the
	// original and attacked maps compare at a glance.
	v := c.View
	v.Sign, v.Opacity = render.Abs, 1
	col.Map0URL = saliencyURL(s0.Image, s0.Map, size, ch, v)
	col.AdvMapURL = saliencyURL(s.Image, s.Map, size, ch, v)
}

func (c *Root) redrawAll() {
	for _, col := range c.Cols {
		c.redraw(col)
	}
}

// SetModel switches column slot to another model.
func (c *Root) SetModel(e vugu.DOMEvent, slot int) {
	id := e.PropString("target", "value")
	for _, m := range c.Models {
		if m.ID == id && slot < len(c.Cols) && c.Busy == "" {
			c.Cols[slot] = &column{Slot: slot, ID: m.ID, Card: m}
			c.chartURL = ""
			go c.predict()
		}
	}
}

// Settings handlers: each reads its control's value.

func (c *Root) SetMethod(e vugu.DOMEvent) { c.Method.Name = e.PropString("target", "value") }
func (c *Root) SetIGSteps(e vugu.DOMEvent) {
	c.Method.Steps = atoi(e.PropString("target", "value"), c.Method.Steps)
}
func (c *Root) SetSamples(e vugu.DOMEvent) {
	c.Method.Samples = atoi(e.PropString("target", "value"), c.Method.Samples)
}
func (c *Root) SetSigma(e vugu.DOMEvent) {
	c.Method.Sigma = atof(e.PropString("target", "value"), c.Method.Sigma)
}
func (c *Root) SetColormap(e vugu.DOMEvent) {
	c.View.Colormap = e.PropString("target", "value")
	c.redrawAll()
}
func (c *Root) SetSign(e vugu.DOMEvent) {
	if m, err := render.ParseSignMode(e.PropString("target", "value")); err == nil {
		c.View.Sign = m
		if m == render.Signed {
			c.View.Colormap = "coolwarm"
		}
		c.redrawAll()
	}
}
func (c *Root) SetOpacity(e vugu.DOMEvent) {
	c.View.Opacity = float64(atoi(e.PropString("target", "value"), int(c.View.Opacity*100))) / 100
	c.redrawAll()
}
func (c *Root) SetAttackMethod(e vugu.DOMEvent) {
	m := &c.Attack.Method
	m.Name = e.PropString("target", "value")
	// Settings the presets leave out get the demo's sizes.
	if m.Steps == 0 {
		m.Steps = 8
	}
	if m.Samples == 0 {
		m.Samples, m.Sigma = 8, 0.15
	}
}
func (c *Root) SetAttackIG(e vugu.DOMEvent) {
	c.Attack.Method.Steps = atoi(e.PropString("target", "value"), c.Attack.Method.Steps)
}
func (c *Root) SetAttackSamples(e vugu.DOMEvent) {
	c.Attack.Method.Samples = atoi(e.PropString("target", "value"), c.Attack.Method.Samples)
}
func (c *Root) SetEps(e vugu.DOMEvent) {
	c.Attack.Eps = atof(e.PropString("target", "value"), c.Attack.Eps)
}
func (c *Root) SetStepSize(e vugu.DOMEvent) {
	c.Attack.StepSize = atof(e.PropString("target", "value"), c.Attack.StepSize)
}
func (c *Root) SetSteps(e vugu.DOMEvent) {
	c.Attack.Steps = atoi(e.PropString("target", "value"), c.Attack.Steps)
	c.chartURL = ""
}
func (c *Root) SetK(e vugu.DOMEvent) { c.Attack.K = atoi(e.PropString("target", "value"), c.Attack.K) }

// DefaultSettings and PaperSettings load the attack presets.
func (c *Root) DefaultSettings(e vugu.DOMEvent) { c.Attack, c.chartURL = protocol.DefaultAttack(), "" }
func (c *Root) PaperSettings(e vugu.DOMEvent)   { c.Attack, c.chartURL = protocol.PaperAttack(), "" }

func atoi(s string, def int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return v
}

func atof(s string, def float64) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) {
		return def
	}
	return v
}

// PaperCost estimates how long the paper's settings take here, from the
// last attack's step times (time per step grows with the IG path points).
func (c *Root) PaperCost() string {
	var perStep float64
	var n int
	for _, col := range c.Cols {
		for _, s := range col.Steps[min(1, len(col.Steps)):] {
			perStep += s.Millis
			n++
		}
	}
	p := protocol.PaperAttack()
	if n == 0 || c.Attack.Method.Name != protocol.IntegratedGradient {
		return fmt.Sprintf("IG-%d, %d steps of %g/255: about 100× the default's cost; run the default first for an estimate", p.Method.Steps, p.Steps, p.StepSize)
	}
	perPoint := perStep / float64(n) / float64(c.Attack.Method.Steps)
	est := perPoint * float64(p.Method.Steps) * float64(p.Steps) / 1000
	return fmt.Sprintf("IG-%d, %d steps of %g/255: about %.0f s per model here (estimated from the last attack)", p.Method.Steps, p.Steps, p.StepSize, est)
}

// RunAttack starts the attack on the shown models.
func (c *Root) RunAttack(e vugu.DOMEvent) {
	if c.Busy != "" || len(c.Cols) == 0 {
		return
	}
	size, _ := c.inputShape()
	if err := c.Attack.Validate(size * size); err != nil {
		c.AttackNote = err.Error()
		return
	}
	var ids []string
	for _, col := range c.Cols {
		col.Steps, col.Summary, col.Shown = nil, nil, 0
		if !slices.Contains(ids, col.ID) {
			ids = append(ids, col.ID)
		}
	}
	cfg := c.Attack
	c.chartURL = ""
	c.Attacking, c.Stopping, c.AttackNote = true, false, ""
	c.busy(fmt.Sprintf("Attacking %s", cfg.Method))
	id, ch := c.client.send(protocol.Request{Op: protocol.OpAttack, Models: ids, Image: c.Image, Attack: &cfg})
	c.AttackID = id
	go func() {
		for r := range ch {
			c.update(func() { c.onAttack(r, cfg) })
		}
	}()
}

func (c *Root) onAttack(r protocol.Response, cfg protocol.Attack) {
	if r.Engine != "" {
		c.Engine = r.Engine
	}
	switch r.Kind {
	case protocol.KindProgress:
		if isWarning(r.Progress) {
			c.Warnings = append(c.Warnings, r.Progress)
		}
	case protocol.KindStep:
		for _, col := range c.Cols {
			if col.ID == r.Step.Model {
				if r.Step.Step == 0 {
					col.Steps = nil // a restart (the engine changed backend)
				}
				col.Steps = append(col.Steps, *r.Step)
				col.Shown = len(col.Steps) - 1
				c.redraw(col)
			}
		}
		c.Busy = fmt.Sprintf("Attacking %s: step %d of %d", cfg.Method, r.Step.Step, cfg.Steps)
	case protocol.KindError:
		c.Attacking, c.Busy, c.AttackNote = false, "", "The attack failed: "+r.Error
	case protocol.KindResult:
		c.Attacking, c.Busy = false, ""
		for _, s := range r.Summary {
			for _, col := range c.Cols {
				if col.ID == s.Model {
					s := s
					col.Summary = &s
					// Show the kept iterate: lowest tau with the prediction kept.
					col.Shown = min(s.BestStep, len(col.Steps)-1)
					c.redraw(col)
				}
			}
		}
		c.AttackNote = fmt.Sprintf("Done in %.1f s.", r.Millis/1000)
		if len(r.Summary) > 0 && r.Summary[0].Stopped {
			c.AttackNote = fmt.Sprintf("Stopped after %.1f s.", r.Millis/1000)
		}
	}
}

// StopAttack asks the engine to stop after the current step.
func (c *Root) StopAttack(e vugu.DOMEvent) {
	if c.Attacking && !c.Stopping {
		c.Stopping = true
		c.client.stop(c.AttackID)
	}
}

// Chart is the picture of the attack's metrics (see chart).
func (c *Root) Chart() string {
	if c.chartURL == "" {
		c.chartURL = c.chart()
	}
	return c.chartURL
}

// chart plots top-k intersection and Kendall's tau over the steps.
func (c *Root) chart() string {
	colors := []string{"#1f77b4", "#d62728"}
	var lines []series
	for i, col := range c.Cols {
		if len(col.Steps) == 0 {
			continue
		}
		tk, kt := make([]float64, len(col.Steps)), make([]float64, len(col.Steps))
		for j, s := range col.Steps {
			tk[j], kt[j] = float64(s.TopK), float64(s.Kendall)
		}
		name := col.Role()
		lines = append(lines,
			series{Label: name + ": top-k intersection", Color: colors[i%2], Y: tk},
			series{Label: name + ": Kendall τ", Color: colors[i%2], Dashed: true, Y: kt})
	}
	return chartSVG(lines, c.Attack.Steps)
}

// ChartPoints is how many points the chart holds (for tests).
func (c *Root) ChartPoints() int {
	n := 0
	for _, col := range c.Cols {
		n += len(col.Steps)
	}
	return n
}

// Role names a column: the training method when known.
func (col *column) Role() string {
	switch strings.ToLower(col.Card.Method) {
	case "natural":
		return "Natural"
	case "art":
		return "ART"
	case "pgd":
		return "PGD"
	}
	if col.Card.Untrained {
		return fmt.Sprintf("Untrained %c", 'A'+col.Slot)
	}
	return col.Card.Title
}

// Shown returns the iterate shown, or nil.
func (col *column) ShownStep() *protocol.Step {
	if len(col.Steps) == 0 {
		return nil
	}
	return &col.Steps[min(col.Shown, len(col.Steps)-1)]
}

// MeanStepMillis is the mean engine time of the attack steps run (step 0,
// the evaluation of the original, excluded).
func (col *column) MeanStepMillis() float64 {
	if len(col.Steps) < 2 {
		return 0
	}
	var sum float64
	for _, s := range col.Steps[1:] {
		sum += s.Millis
	}
	return sum / float64(len(col.Steps)-1)
}

// LastStepMillis is the engine time of the last step run (0 before one).
func (col *column) LastStepMillis() float64 {
	if len(col.Steps) < 2 {
		return 0
	}
	return col.Steps[len(col.Steps)-1].Millis
}

// StepLine describes the shown iterate.
func (col *column) StepLine() string {
	s := col.ShownStep()
	if s == nil {
		return ""
	}
	kept := "prediction kept"
	if !s.Kept {
		kept = "prediction changed"
	}
	return fmt.Sprintf("step %d: predicted %s (%.0f%%), %s", s.Step, col.className(s.Pred), 100*s.Prob, kept)
}

// Fmt formats a metric; undefined values show as "n/a".
func Fmt(n protocol.Num) string {
	if !n.Defined() {
		return "n/a"
	}
	return strconv.FormatFloat(float64(n), 'f', 3, 64)
}

// CardLines lists a model card's facts.
func (col *column) CardLines() []string {
	m := col.Card
	var out []string
	out = append(out, fmt.Sprintf("%s, %d parameters, %d×%d×%d input, %d classes", m.Arch, m.Params, m.InputSize, m.InputSize, m.Channels, len(m.Classes)))
	if !m.Untrained && (m.Method != "" || m.Dataset != "") {
		out = append(out, fmt.Sprintf("training: %s on %s", orDash(m.Method), orDash(m.Dataset)))
	}
	if len(m.Metrics) > 0 {
		keys := make([]string, 0, len(m.Metrics))
		for k := range m.Metrics {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s %.4g", k, m.Metrics[k]))
		}
		out = append(out, "metrics: "+strings.Join(kv, ", "))
	}
	if m.Created != "" {
		out = append(out, "created "+m.Created)
	}
	if m.Bytes > 0 {
		out = append(out, fmt.Sprintf("checkpoint %s, %.0f kB", m.ID, float64(m.Bytes)/1000))
	}
	if m.Notes != "" {
		out = append(out, m.Notes)
	}
	return out
}

// HyperLines lists the card's hyper-parameters, one "name = value" each
// (the page folds them away: training records many).
func (col *column) HyperLines() []string {
	h := col.Card.Hyper
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		v := h[k]
		if f, ok := v.(float64); ok {
			v = strconv.FormatFloat(f, 'g', 4, 64)
		}
		out = append(out, fmt.Sprintf("%s = %v", k, v))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Options for the selects.

type option struct{ Value, Label string }

func (c *Root) MethodOptions() []option {
	var out []option
	for _, n := range protocol.MethodNames {
		out = append(out, option{n, protocol.MethodLabel(n)})
	}
	return out
}

func (c *Root) ColormapOptions() []string { return render.ColormapNames() }

func (c *Root) SignOptions() []string { return []string{"abs", "positive", "negative", "signed"} }

func (c *Root) statusClass() string {
	if c.Failed {
		return "status error"
	}
	return "status"
}
