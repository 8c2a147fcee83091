package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/artrobust/art/shared/data"
	"github.com/artrobust/art/shared/model"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "build.sh")); err != nil {
		t.Fatalf("no build.sh at %s: %v", root, err)
	}
	return root
}

// findChromium returns the browser to drive, or "" if none is installed.
func findChromium() string {
	if p := os.Getenv("ART_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// buildSite returns a fresh copy of the site that ./build.sh site builds
// once per test binary (with an art command compiled for the tests, so
// bin/art is left alone), or of $ART_WEB_DIST when set (a site built
// beforehand). Each test may change its copy.
func buildSite(t *testing.T) string {
	t.Helper()
	src := os.Getenv("ART_WEB_DIST")
	if src == "" {
		shared.once.Do(func() {
			shared.dir, shared.err = os.MkdirTemp("", "art-e2e-site-")
			if shared.err != nil {
				return
			}
			site := filepath.Join(shared.dir, "site")
			shared.art = filepath.Join(shared.dir, "art")
			build := exec.Command("go", "build", "-o", shared.art, "./native/art")
			build.Dir = repoRoot(t)
			if out, err := build.CombinedOutput(); err != nil {
				shared.err = fmt.Errorf("go build ./native/art: %v\n%s", err, out)
				return
			}
			cmd := exec.Command("./build.sh", "site", site)
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "ART_BIN="+shared.art)
			if out, err := cmd.CombinedOutput(); err != nil {
				shared.err = fmt.Errorf("./build.sh site: %v\n%s", err, out)
			}
		})
		if shared.err != nil {
			t.Fatal(shared.err)
		}
		src = filepath.Join(shared.dir, "site")
	}
	dir := filepath.Join(t.TempDir(), "site")
	if out, err := exec.Command("cp", "-R", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the site: %v\n%s", err, out)
	}
	return dir
}

// shared is the site (and art command) built once for all tests; TestMain
// removes it.
var shared struct {
	once     sync.Once
	dir, art string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// addCheckpoints writes two small checkpoints (untrained weights labelled
// as a natural and an ART model) and a broken file into the site, and lists
// all three in weights/index.json: the page must load the two and report
// the third.
func addCheckpoints(t *testing.T, site string) {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ParseArch("WRN-10-1", 10, data.DefaultShapesSize, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, method := range []string{"natural", "art"} {
		net, err := model.NewNet(b, cfg, cfg.InitValues(uint64(11+i)))
		if err != nil {
			t.Fatal(err)
		}
		ck, err := net.Checkpoint(checkpoint.Meta{Method: method, Dataset: "shapes", Activation: "relu",
			ClassNames: data.ShapesClasses(), Hyper: map[string]any{"epsilon": 8.0 / 255},
			Notes: "e2e test checkpoint: initialised weights, not trained"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.WriteFile(filepath.Join(site, "weights", "e2e-"+method+".ckpt"), ck, checkpoint.WithFloat16()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "weights", "e2e-broken.ckpt"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	index := `{"checkpoints": ["e2e-natural.ckpt", "e2e-broken.ckpt", "e2e-art.ckpt"]}`
	if err := os.WriteFile(filepath.Join(site, "weights", "index.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serve serves the site on 127.0.0.1: at / with the test's checkpoints, and
// at /bare/ with an empty weights index (the page must then fall back to
// labelled untrained models).
func serve(t *testing.T, site string) (url string, stop func()) {
	t.Helper()
	files := http.FileServer(http.Dir(site))
	mux := http.NewServeMux()
	mux.HandleFunc("/bare/weights/index.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"checkpoints": []}`)
	})
	mux.Handle("/bare/", http.StripPrefix("/bare", files))
	mux.Handle("/", files)
	// A strict policy: the page must run without eval or inline scripts.
	strict := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		mux.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: strict}
	go srv.Serve(ln)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// contentSecurityPolicy is as strict as the demonstrator allows: its own
// scripts and WebAssembly only ('wasm-unsafe-eval' permits compiling
// WebAssembly, not eval), no inline script, images from data: URLs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'"

func artefactDir(t *testing.T) string {
	dir := os.Getenv("ART_E2E_OUT")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "runs", "browsertest")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page wraps a browser tab with the test's helpers.
type page struct {
	t   *testing.T
	ctx context.Context
	out string
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.shot("failure")
		p.t.Fatalf("%s: %v", what, err)
	}
}

// generous stretches a limit measured on a quiet machine: CI runs on
// whatever machine is free, and a loaded one (load average 12) is many times
// slower. Every wait polls for its event, so a longer limit costs nothing
// when things work; it only delays the report of a real failure.
func generous(d time.Duration) time.Duration { return max(5*d, 2*time.Minute) }

// wait polls a JavaScript predicate until it holds, for up to
// generous(timeout).
func (p *page) wait(what, expr string, timeout time.Duration) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(generous(timeout)))); err != nil {
		p.shot("failure")
		p.t.Fatalf("waiting for %s (%s): %v; status: %q", what, expr, err, p.text("#status"))
	}
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func (p *page) num(expr string) float64 {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text is the text of the first element matching a CSS selector ("" if none).
func (p *page) text(sel string) string {
	return p.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// setField sets an input or select and fires its change event, as a user's
// edit does.
func (p *page) setField(sel, value string) {
	p.t.Helper()
	ok := p.num(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return 0;
		e.value = %q; e.dispatchEvent(new Event('change', {bubbles: true})); return 1; })()`, sel, value))
	if ok != 1 {
		p.t.Fatalf("no element %s", sel)
	}
}

func (p *page) shot(name string) {
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.out, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.t.Logf("screenshot: %s", path)
}

const idle = `document.querySelector('#app') && document.querySelector('#app').dataset.busy === undefined`

// browserSession builds and serves the site and opens headless Chromium
// on it; it skips the test when no Chromium is installed. The returned
// check reports uncaught exceptions and console errors as failures.
func browserSession(t *testing.T, timeout time.Duration) (p *page, base string, stopServer func(), check func()) {
	t.Helper()
	browser := findChromium()
	if browser == "" {
		t.Skip("no Chromium found: install it (apt-get install chromium) or set ART_CHROMIUM to run the browser test")
	}
	site := buildSite(t)
	addCheckpoints(t, site)
	base, stopServer = serve(t, site)
	for _, f := range []string{"app.wasm", "app.wasm.gz", "engine.wasm", "engine.wasm.gz", "ort/ort-wasm-simd-threaded.wasm", "ort/ort-wasm-simd-threaded.wasm.gz"} {
		if st, err := os.Stat(filepath.Join(site, f)); err == nil {
			t.Logf("size %-36s %6.2f MB", f, float64(st.Size())/1e6)
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t, browser)...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, generous(timeout))
	t.Cleanup(cancelTimeout)

	var mu sync.Mutex
	var problems, console []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text+" "+describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, describe(a))
			}
			msg := strings.Join(parts, " ")
			console = append(console, string(e.Type)+": "+msg)
			if e.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error: "+msg)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			for _, c := range console {
				t.Logf("console %s", c)
			}
		}
		for _, pr := range problems {
			t.Errorf("browser: %s", pr)
		}
	}
	return &page{t: t, ctx: ctx, out: artefactDir(t)}, base, stopServer, check
}

// open loads a page and waits until it is ready; it returns the time to
// interactive: from navigation start to the interface being ready, in ms.
func (p *page) open(url string) float64 {
	p.t.Helper()
	p.do("opening "+url, chromedp.Navigate(url))
	p.wait("the page to be ready", `document.querySelector('#app[data-ready]') !== null || document.body.dataset.bootFailed !== undefined`, 60*time.Second)
	tti := p.num(`performance.now()`)
	if msg := p.eval(`document.body.dataset.bootFailed || ''`); msg != "" {
		p.shot("failure")
		p.t.Fatalf("%s: %s", url, msg)
	}
	return tti
}

func TestDemonstratorInChromium(t *testing.T) {
	p, base, stopServer, check := browserSession(t, 4*time.Minute)
	defer check()

	t.Run("untrained models on the Go backend", func(t *testing.T) {
		p.t = t
		p.open(base + "/bare/demo.html?engine=go")
		if w := p.text("#untrained"); !strings.Contains(w, "untrained") {
			t.Errorf("no untrained warning without checkpoints; got %q", w)
		}
		roles := p.eval(`[...document.querySelectorAll('#app .card .role')].map(e => e.textContent).join('|')`)
		if roles != "Untrained A|Untrained B" {
			t.Errorf("columns %q, want two untrained models", roles)
		}
		if e := p.text("#engine"); !strings.Contains(e, "GoMLX Go backend") {
			t.Errorf("?engine=go runs on %q", e)
		}
		p.wait("the first maps", `document.querySelector('#explain-1 img.map') !== null && `+idle, 60*time.Second)
		// A short attack runs on the Go backend too.
		p.setField("#atk-steps", "2")
		p.click("#attack")
		p.wait("the attack", `document.querySelector('#chart').dataset.points === '6' && `+idle, 60*time.Second)
		if w := p.text("#warnings"); w != "" {
			t.Errorf("warnings on the Go backend: %q", w)
		}
	})

	t.Run("flow", func(t *testing.T) {
		p.t = t
		t.Logf("time to interactive: %.0f ms", p.open(base+"/demo.html"))

		if e := p.text("#engine"); !strings.Contains(e, "GoMLX") {
			t.Errorf("engine line %q does not name the engine", e)
		}
		// Without ?engine= the page prefers ONNX Runtime Web when the site
		// ships it, and falls back to the Go backend (saying why) when it
		// cannot run a graph; the engine line names the one that ran last.
		defer func() { t.Logf("engine: %s; warnings: %s", p.text("#engine"), p.text("#warnings")) }()
		roles := p.eval(`[...document.querySelectorAll('#app .card .role')].map(e => e.textContent).join('|')`)
		if roles != "Natural|ART" {
			t.Errorf("columns %q, want Natural|ART from the checkpoints' metadata", roles)
		}
		if card := p.text("#card-1"); !strings.Contains(card, "e2e test checkpoint") || !strings.Contains(card, "art on shapes") {
			t.Errorf("ART model card %q lacks the checkpoint's metadata", card)
		}
		if w := p.text("#warnings"); !strings.Contains(w, "e2e-broken.ckpt") {
			t.Errorf("the broken checkpoint is not reported; warnings %q", w)
		}
		if p.eval(`document.querySelector('#untrained') ? "shown" : ""`) != "" {
			t.Error("the untrained warning shows although checkpoints loaded")
		}
		// The first sample is chosen, predicted and explained on load.
		p.wait("the first prediction and map", `document.querySelectorAll('#explain-1 .probs li').length === 3 && document.querySelector('#explain-1 img.map') !== null && `+idle, 60*time.Second)

		// Pick another sample from the gallery.
		if n := p.num(`document.querySelectorAll('#gallery .thumb').length`); n != 12 {
			t.Errorf("gallery shows %v images, want 12", n)
		}
		p.click(`#gallery .thumb[data-index="3"]`)
		p.wait("sample 3", `document.querySelector('#chosen-label').textContent.includes('image 3,')`, 10*time.Second)
		p.wait("its prediction and map", `document.querySelector('#explain-0 img.map') !== null && `+idle, 60*time.Second)
		for _, col := range []string{"#explain-0", "#explain-1"} {
			var sum float64
			for i := 1; i <= 3; i++ {
				v := percent(t, p.text(fmt.Sprintf("%s .probs li:nth-child(%d) .pct", col, i)))
				if v < 0 || v > 100 {
					t.Errorf("%s: probability %v%% outside [0, 100]", col, v)
				}
				sum += v
			}
			if sum > 100.5 || sum <= 0 {
				t.Errorf("%s: top-3 probabilities sum to %v%%", col, sum)
			}
		}

		// Integrated Gradients with the paper's 100 path points.
		p.setField("#method", "ig")
		p.wait("the path points field", `document.querySelector('#ig-steps') !== null`, 5*time.Second)
		p.setField("#ig-steps", "100")
		p.click("#explain")
		p.wait("IG-100 maps", `[...document.querySelectorAll('.map-title')].filter(e => e.textContent.startsWith('IG-100')).length === 2 && `+idle, 90*time.Second)
		for i := range 2 {
			ms := p.num(fmt.Sprintf(`Number(document.querySelector('#explain-%d .map-ms').dataset.ms)`, i))
			if ms <= 0 {
				t.Errorf("IG-100 time %v ms", ms)
			}
			t.Logf("IG-100, model %d: %.0f ms (engine time, first call)", i, ms)
		}
		// The overlay must depend on the opacity control.
		before := p.eval(`document.querySelector('#explain-0 img.map').src`)
		p.eval(`(() => { const e = document.querySelector('#opacity'); e.value = '20'; e.dispatchEvent(new Event('input')); return ''; })()`)
		p.wait("the overlay to change", fmt.Sprintf(`document.querySelector('#explain-0 img.map').src !== %q`, before), 5*time.Second)
		p.shot("1-explain")

		// A short attack on both models.
		p.setField("#atk-steps", "4")
		p.click("#attack")
		p.wait("the attack to finish", `document.querySelector('#chart').dataset.points === '10' && `+idle, 90*time.Second)
		if note := p.text("#attack-note"); !strings.HasPrefix(note, "Done in") {
			t.Errorf("attack note %q", note)
		}
		for i := range 2 {
			col := fmt.Sprintf("#attack-%d", i)
			tk, kt := p.text(col+" .topk"), p.text(col+" .kendall")
			topk, err1 := strconv.ParseFloat(tk, 64)
			tau, err2 := strconv.ParseFloat(kt, 64)
			if err1 != nil || err2 != nil || topk < 0 || topk > 1 || tau < -1 || tau > 1 {
				t.Errorf("%s: top-k %q, Kendall %q: want numbers in [0,1] and [-1,1]", col, tk, kt)
			}
			if n := p.num(`document.querySelectorAll('` + col + ` .strip img[src^="data:image/png"]').length`); n != 5 {
				t.Errorf("%s shows %v of the 5 attack pictures", col, n)
			}
			if line := p.text(col + " .step-line"); !strings.Contains(line, "predicted") {
				t.Errorf("%s: step line %q", col, line)
			}
			if s := p.text(col + " .summary"); !strings.Contains(s, "of 4 run") {
				t.Errorf("%s: summary %q", col, s)
			}
			t.Logf("%s after the short attack: top-k %s, Kendall %s; %s", col, tk, kt, p.text(col+" .summary"))
		}
		chart := p.eval(`atob(document.querySelector('#chart').src.split(',')[1])`)
		if paths := strings.Count(chart, "<path "); paths != 4 {
			t.Errorf("the chart has %d lines, want 4 (top-k and Kendall for two models)", paths)
		}
		p.shot("2-attack")

		// Prediction, IG and the attack all ran on ONNX Runtime Web when the
		// site ships it (no switch to the Go backend), else on the Go backend.
		ort := siteShipsORT(t, base)
		wantEngine := "GoMLX Go backend"
		if ort {
			wantEngine = "ONNX Runtime Web"
		}
		if e := p.text("#engine"); !strings.Contains(e, wantEngine) {
			t.Errorf("engine line %q, want %s", e, wantEngine)
		}
		if w := p.text("#warnings"); ort && strings.Contains(w, "ONNX Runtime") {
			t.Errorf("ONNX Runtime Web did not run everything: %q", w)
		}

		// The stop button stops a long attack within a step.
		p.setField("#atk-steps", "60")
		p.click("#attack")
		p.wait("a few steps", `Number(document.querySelector('#chart').dataset.points) >= 6`, 60*time.Second)
		p.click("#stop")
		p.wait("the stop", idle, 30*time.Second)
		if note := p.text("#attack-note"); !strings.HasPrefix(note, "Stopped") {
			t.Errorf("after Stop the note says %q", note)
		}
		if n := p.num(`Number(document.querySelector('#chart').dataset.points)`); n >= 2*61 {
			t.Errorf("the attack ran all %v steps despite Stop", n)
		}

		// The presets load their settings.
		p.click("#preset-paper")
		if v := p.eval(`document.querySelector('#atk-ig').value + '/' + document.querySelector('#atk-steps').value + '/' + document.querySelector('#atk-step').value`); v != "100/50/1" {
			t.Errorf("paper preset: IG points/steps/step %q, want 100/50/1", v)
		}
		p.click("#preset-default")

		// Uploads: a PNG is resized and used; anything else is refused.
		dir := t.TempDir()
		good := filepath.Join(dir, "wide.png")
		writePNG(t, good, 90, 40)
		p.do("uploading a PNG", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{good}))
		p.wait("the uploaded image", `document.querySelector('#chosen-label').textContent === 'uploaded: wide.png' && document.querySelectorAll('#explain-0 .probs li').length === 3 && `+idle, 60*time.Second)
		bad := filepath.Join(dir, "notes.png")
		if err := os.WriteFile(bad, []byte("this is text, not a picture"), 0o644); err != nil {
			t.Fatal(err)
		}
		p.do("uploading a text file", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{bad}))
		p.wait("the refusal", `(document.querySelector('#upload-error')||{textContent:''}).textContent.includes('not a PNG or JPEG')`, 10*time.Second)
		p.shot("4-upload")

		// Offline: with the server gone, the cached site still works.
		p.wait("the offline cache", `navigator.serviceWorker && navigator.serviceWorker.controller !== null`, 30*time.Second)
		_, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(() => true)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		// The checkpoints were added after the site was built, so they are
		// not in the service worker's file list: it must have cached them
		// from weights/index.json when it was installed.
		for _, name := range []string{"e2e-natural.ckpt", "e2e-art.ckpt"} {
			cached, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`caches.match('weights/`+name+`').then((r) => r !== undefined)`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if !cached {
				t.Fatalf("the service worker did not cache weights/%s, which weights/index.json lists", name)
			}
		}
		stopServer()
		p.do("reloading offline", chromedp.Reload())
		p.wait("the page to be ready offline", `document.querySelector('#app[data-ready]') !== null || document.body.dataset.bootFailed !== undefined`, 60*time.Second)
		if msg := p.eval(`document.body.dataset.bootFailed || ''`); msg != "" {
			t.Fatalf("offline: %s", msg)
		}
		p.wait("a prediction offline", `document.querySelectorAll('#explain-1 .probs li').length === 3`, 60*time.Second)
		p.shot("5-offline")
	})

}

// TestMeasureDemonstratorInChromium measures the demonstrator in headless
// Chromium for each engine (set ART_E2E_BENCH=1; it takes a few minutes):
// time to interactive, IG-100 (second call, compiled), one step of the
// paper's attack (IG-100), and the demo's full default attack. It asserts
// only that each run completes; the numbers are logged.
func TestMeasureDemonstratorInChromium(t *testing.T) {
	if os.Getenv("ART_E2E_BENCH") == "" {
		t.Skip("set ART_E2E_BENCH=1 to measure the demonstrator in Chromium")
	}
	first, base, _, check := browserSession(t, 20*time.Minute)
	defer check()
	first.do("starting the browser", chromedp.Navigate("about:blank"))
	metrics := map[string]string{}
	for _, engine := range []string{"go", "onnx"} {
		t.Run(engine, func(t *testing.T) {
			// A fresh browser context per engine: empty cache, no service
			// worker, so the first load is a visitor's first visit.
			ctx, cancel := chromedp.NewContext(first.ctx, chromedp.WithNewBrowserContext())
			defer cancel()
			p := &page{t: t, ctx: ctx, out: first.out}
			url := base + "/bare/demo.html?engine=" + engine
			tti := p.open(url)
			t.Logf("time to interactive, first visit: %.0f ms", tti)
			p.wait("the offline cache", `navigator.serviceWorker && navigator.serviceWorker.controller !== null`, 30*time.Second)
			t.Logf("time to interactive, next visit (cached): %.0f ms", p.open(url))
			if p.eval(`document.querySelector('#app').dataset.failed || ''`) != "" {
				t.Skipf("engine %s did not start: %s", engine, p.text("#status"))
			}
			t.Logf("engine: %s", p.text("#engine"))
			p.wait("the first maps", `(document.querySelector('#explain-1 img.map') !== null || document.querySelector('#error') !== null) && `+idle, 120*time.Second)
			if e := p.text("#error"); e != "" {
				t.Fatalf("engine %s failed: %s", engine, e)
			}
			p.setField("#ig-steps", "100")
			for call := 1; call <= 2; call++ {
				p.click("#explain")
				p.wait("IG-100 maps", `[...document.querySelectorAll('.map-title')].filter(e => e.textContent.startsWith('IG-100')).length === 2 && `+idle, 120*time.Second)
				p.eval(`(() => { document.querySelectorAll('.map-title').forEach(e => e.textContent = ''); return ''; })()`)
				ms := p.num(`Number(document.querySelector('#explain-0 .map-ms').dataset.ms)`)
				t.Logf("IG-100 on WRN-10-1, call %d: %.0f ms", call, ms)
			}
			p.click("#preset-paper")
			p.setField("#atk-steps", "2")
			p.click("#attack")
			p.wait("two IG-100 attack steps", `document.querySelector('#chart').dataset.points === '6' && `+idle, 300*time.Second)
			for i := range 2 {
				last := p.num(fmt.Sprintf(`Number(document.querySelector('#attack-%d').dataset.lastStepMs)`, i))
				t.Logf("one IFIA step on IG-100 (paper settings), model %d, second step: %.0f ms", i, last)
			}
			p.click("#preset-default")
			// How long the page's main thread is ever blocked while the
			// engine computes (a 50 ms timer that records its longest gap).
			p.eval(`(() => { window.artLag = 0; let last = performance.now();
				window.artLagTimer = setInterval(() => { const now = performance.now(); window.artLag = Math.max(window.artLag, now - last); last = now; }, 50);
				return ''; })()`)
			p.click("#attack")
			p.wait("the default attack", `(document.querySelector('#attack-note')||{textContent:''}).textContent.startsWith('Done') && `+idle, 300*time.Second)
			t.Logf("longest main-thread gap during the default attack: %.0f ms (timer period 50 ms)", p.num(`(clearInterval(window.artLagTimer), window.artLag)`))
			for i := range 2 {
				ms := p.num(fmt.Sprintf(`Number(document.querySelector('#attack-%d').dataset.stepMs)`, i))
				t.Logf("default attack (IG-8, 12 steps): model %d: %.0f ms per step; %s", i, ms, p.text(fmt.Sprintf("#attack-%d .summary", i)))
			}
			t.Logf("default attack on both models, wall: %s", p.text("#attack-note"))
			m := p.eval(`[...document.querySelectorAll('.metrics b')].map(e => e.textContent).join(' ')`)
			t.Logf("kept iterates' top-k and Kendall: %s", m)
			metrics[engine] = m
			t.Logf("warnings: %s", p.text("#warnings"))
			p.shot("measure-" + engine)
		})
	}
	if len(metrics) == 2 && metrics["go"] != metrics["onnx"] {
		t.Errorf("the engines disagree on the default attack: Go %s, ONNX Runtime %s", metrics["go"], metrics["onnx"])
	}
}

// siteShipsORT reports whether the served site has onnxruntime-web
// (./build.sh web leaves it out when npm is unavailable).
func siteShipsORT(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Head(base + "/ort/ort.wasm.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	return strings.Trim(string(o.Value), `"`)
}

var percentRE = regexp.MustCompile(`^([0-9.]+)%$`)

func percent(t *testing.T, s string) float64 {
	t.Helper()
	m := percentRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		t.Errorf("%q is not a percentage", s)
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(3 * x), uint8(6 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chromiumOptions starts headless Chromium as this machine needs it: no
// sandbox, GPU, QUIC or background traffic, and a fresh profile.
func chromiumOptions(t *testing.T, browser string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
}
