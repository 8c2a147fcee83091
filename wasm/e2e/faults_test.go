package e2e

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artrobust/art/shared/checkpoint"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// hugePNGHeader is a valid PNG whose header claims w x h RGBA pixels while
// its data holds one row.
func hugePNGHeader(w, h int) []byte {
	var b bytes.Buffer
	chunk := func(kind string, body []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(body)))
		b.WriteString(kind)
		b.Write(body)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), body...)))
	}
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 6
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, 1+4*w))
	_ = zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// addFaultyCheckpoints adds to the site's weights, beside the good natural
// and ART checkpoints of addCheckpoints, a damaged copy of one (a flipped
// byte: its CRC no longer matches) and one whose metadata names another
// architecture than its tensors (WRN-16-1 over WRN-10-1 weights), and lists
// the bad ones first.
func addFaultyCheckpoints(t *testing.T, site string) {
	t.Helper()
	weights := filepath.Join(site, "weights")
	good := filepath.Join(weights, "e2e-natural.ckpt")
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(filepath.Join(weights, "e2e-damaged.ckpt"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	ck.Meta.Arch.Name, ck.Meta.Arch.Depth = "WRN-16-1", 16
	if err := checkpoint.WriteFile(filepath.Join(weights, "e2e-wrongarch.ckpt"), ck, checkpoint.WithFloat16()); err != nil {
		t.Fatal(err)
	}
	index := `{"checkpoints": ["e2e-damaged.ckpt", "e2e-natural.ckpt", "e2e-wrongarch.ckpt", "e2e-art.ckpt"]}`
	if err := os.WriteFile(filepath.Join(weights, "index.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sessionWithSite is browserSession with a hook that edits the site (after
// addCheckpoints) before it is served.
func sessionWithSite(t *testing.T, timeout time.Duration, prepare func(*testing.T, string)) (p *page, base string, check func()) {
	t.Helper()
	browser := findChromium()
	if browser == "" {
		t.Skip("no Chromium found: install it (apt-get install chromium) or set ART_CHROMIUM to run the browser test")
	}
	site := buildSite(t)
	addCheckpoints(t, site)
	prepare(t, site)
	base, _ = serve(t, site)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t, browser)...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, generous(timeout))
	t.Cleanup(cancelTimeout)
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text+" "+describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, describe(a))
				}
				problems = append(problems, "console error: "+strings.Join(parts, " "))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, pr := range problems {
			t.Errorf("browser: %s", pr)
		}
	}
	return &page{t: t, ctx: ctx, out: artefactDir(t)}, base, check
}

// TestBadCheckpointsAndHugeUploadsInChromium: checkpoints that fail to load
// (damaged bytes, another architecture) are named on the page with the
// reason, and the good models still predict; a 10000x10000 upload shows a
// message, and an ordinary upload afterwards works. Uncaught exceptions and
// console errors fail the test.
func TestBadCheckpointsAndHugeUploadsInChromium(t *testing.T) {
	p, base, check := sessionWithSite(t, 3*time.Minute, addFaultyCheckpoints)
	defer check()

	p.open(base + "/demo.html?engine=go")
	warnings := p.text("#warnings")
	t.Logf("warnings on the page: %s", warnings)
	for _, want := range []string{"e2e-damaged.ckpt", "e2e-wrongarch.ckpt", "does not match the architecture"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings %q do not mention %q", warnings, want)
		}
	}
	if !strings.Contains(warnings, "checksum") && !strings.Contains(warnings, "CRC") && !strings.Contains(warnings, "corrupt") {
		t.Errorf("warnings %q do not say the damaged checkpoint's bytes are wrong", warnings)
	}
	roles := p.eval(`[...document.querySelectorAll('#app .card .role')].map(e => e.textContent).join('|')`)
	if roles != "Natural|ART" {
		t.Errorf("columns %q, want Natural|ART from the two good checkpoints", roles)
	}
	p.wait("predictions of both good models", `document.querySelectorAll('#explain-0 .probs li').length === 3 && document.querySelectorAll('#explain-1 .probs li').length === 3 && document.querySelector('#explain-1 img.map') !== null && `+idle, 90*time.Second)
	p.shot("faults-1-checkpoints")

	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, hugePNGHeader(10000, 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	p.do("uploading a 10000x10000 PNG", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{huge}))
	p.wait("the refusal", `(document.querySelector('#upload-error')||{textContent:''}).textContent.includes('10000×10000 pixels; the limit is 4096×4096')`, 30*time.Second)
	p.shot("faults-2-huge-upload")

	good := filepath.Join(dir, "ok.png")
	writePNG(t, good, 48, 48)
	p.do("uploading a PNG after the refusal", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{good}))
	p.wait("the uploaded image's predictions", `document.querySelector('#chosen-label').textContent === 'uploaded: ok.png' && document.querySelector('#upload-error') === null && document.querySelectorAll('#explain-0 .probs li').length === 3 && document.querySelectorAll('#explain-1 .probs li').length === 3 && `+idle, 90*time.Second)
}
