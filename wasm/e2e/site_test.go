package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// artBinary is the art command buildSite compiled, or, with a prebuilt
// $ART_WEB_DIST, one compiled now.
func artBinary(t *testing.T) string {
	t.Helper()
	if shared.art != "" {
		return shared.art
	}
	bin := filepath.Join(t.TempDir(), "art")
	cmd := exec.Command("go", "build", "-o", bin, "./native/art")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./native/art: %v\n%s", err, out)
	}
	return bin
}

// artServe starts "art serve" on a free loopback port and returns the URL
// it prints.
func artServe(t *testing.T, art, dir string) string {
	t.Helper()
	cmd := exec.Command(art, "serve", "-addr", "127.0.0.1:0", "-dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(generous(10 * time.Second)):
			cmd.Process.Kill()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("art serve printed no address: %v", err)
	}
	m := regexp.MustCompile(`http://\S+/`).FindString(line)
	if m == "" {
		t.Fatalf("art serve: no URL in %q", line)
	}
	go io.Copy(io.Discard, stdout)
	return m
}

// sitePages lists every .html file of the site, as paths relative to it.
func sitePages(t *testing.T, dir string) []string {
	t.Helper()
	var pages []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") {
			r, _ := filepath.Rel(dir, p)
			pages = append(pages, filepath.ToSlash(r))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// TestSiteHasNoBrokenLinks is the site's acceptance test: it builds the
// whole site (./build.sh site, or $ART_WEB_DIST), serves it with art serve,
// loads in headless Chromium every page reachable from index.html and every
// .html file of the folder, and fails on any link or asset that does not
// load (HTTP status >= 400, a request that fails), any console error and
// any uncaught exception. The demo page must boot (its WebAssembly loads),
// but runs nothing. The same links are then fetched with the site under a
// sub-path, to prove they are all relative.
func TestSiteHasNoBrokenLinks(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("no Chromium found: install it (apt-get install chromium) or set ART_CHROMIUM to run the browser test")
	}
	site := buildSite(t)
	art := artBinary(t)
	files := sitePages(t, site)
	for _, want := range []string{"index.html", "demo.html", "results.html", "models.html", "docs/index.html"} {
		if !slices.Contains(files, want) {
			t.Errorf("the site has no %s (pages: %v)", want, files)
		}
	}
	for _, f := range []string{"app.wasm.gz", "engine.wasm.gz"} {
		if _, err := os.Stat(filepath.Join(site, f)); err != nil {
			t.Errorf("no precompressed %s: %v", f, err)
		}
	}
	base := artServe(t, art, site)

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t, browser)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, generous(10*time.Minute))
	defer cancelTimeout()

	var mu sync.Mutex
	var problems []string
	current := ""
	requests := map[network.RequestID]string{}
	inFlight := map[network.RequestID]bool{}
	report := func(format string, args ...any) {
		problems = append(problems, current+": "+strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			report("uncaught exception: %s %s", e.ExceptionDetails.Text, describe(e.ExceptionDetails.Exception))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, describe(a))
				}
				report("console error: %s", strings.Join(parts, " "))
			}
		case *network.EventRequestWillBeSent:
			requests[e.RequestID] = e.Request.URL
			inFlight[e.RequestID] = true
		case *network.EventLoadingFinished:
			delete(inFlight, e.RequestID)
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				report("HTTP %d for %s", e.Response.Status, e.Response.URL)
			}
		case *network.EventLoadingFailed:
			delete(inFlight, e.RequestID)
			// Requests cut short by leaving the page are not failures.
			if e.ErrorText != "net::ERR_ABORTED" || e.BlockedReason != "" {
				report("request failed (%s %s): %s", e.ErrorText, e.BlockedReason, requests[e.RequestID])
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	// Crawl: index.html first, then every page it links to, then any .html
	// file nothing linked.
	queue := []string{"index.html"}
	seen := map[string]bool{}
	links := map[string]string{} // same-origin URL (no fragment) -> first page linking it
	for _, f := range files {
		defer func(f string) {
			if !seen[f] {
				t.Logf("%s is not linked from the crawl", f)
			}
		}(f)
	}
	for len(queue) > 0 || len(seen) < len(files) {
		var p string
		if len(queue) > 0 {
			p, queue = queue[0], queue[1:]
		} else {
			for _, f := range files {
				if !seen[f] {
					p = f
					break
				}
			}
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		mu.Lock()
		current = p
		mu.Unlock()
		t0 := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p)); err != nil {
			t.Fatalf("opening %s: %v", p, err)
		}
		ready := `document.readyState === 'complete'`
		if p == "demo.html" {
			ready = `document.querySelector('#app[data-ready]') !== null || document.body.dataset.bootFailed !== undefined`
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](ready,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(generous(90*time.Second)))); err != nil {
			t.Fatalf("%s did not finish loading: %v", p, err)
		}
		if p == "demo.html" {
			if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.bootFailed || ''`)); msg != "" {
				t.Errorf("demo.html failed to boot: %s", msg)
			}
		}
		t.Logf("%s loaded in %s", p, time.Since(t0).Round(time.Millisecond))
		refs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll('a[href], link[href], img[src], script[src]')].map(e => e.href || e.src)`))
		if err != nil {
			t.Fatalf("%s: listing links: %v", p, err)
		}
		for _, r := range refs {
			u, err := url.Parse(r)
			if err != nil || !strings.HasPrefix(r, base) {
				continue // other origins are links out, never loaded by the pages
			}
			u.Fragment = ""
			abs := u.String()
			if _, ok := links[abs]; !ok {
				links[abs] = p
			}
			rel := strings.TrimPrefix(abs, base)
			if rel == "" {
				rel = "index.html"
			}
			if strings.HasSuffix(rel, ".html") && !seen[rel] {
				queue = append(queue, rel)
			}
		}
	}
	// Wait for the last page's late requests to finish or fail (their
	// events, not a fixed pause, which a loaded machine outlasts), then
	// stop listening.
	for deadline := time.Now().Add(generous(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(inFlight)
		mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%d requests of the last page still in flight", n)
			break
		}
	}
	mu.Lock()
	for _, pr := range problems {
		t.Errorf("browser: %s", pr)
	}
	mu.Unlock()

	// Every same-origin link answers 200, here and with the site mounted
	// under a sub-path (relative links only).
	if len(links) < len(files) {
		t.Errorf("only %d links found across %d pages", len(links), len(files))
	}
	mux := http.NewServeMux()
	mux.Handle("/some/sub/path/", http.StripPrefix("/some/sub/path", http.FileServer(http.Dir(site))))
	srv := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	subBase := "http://" + ln.Addr().String() + "/some/sub/path/"
	for _, abs := range slices.Sorted(maps.Keys(links)) {
		for _, b := range []string{base, subBase} {
			target := b + strings.TrimPrefix(abs, base)
			resp, err := http.Get(target)
			if err != nil {
				t.Errorf("%s (linked from %s): %v", target, links[abs], err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s (linked from %s): HTTP %d", target, links[abs], resp.StatusCode)
			}
		}
	}
	t.Logf("%d pages crawled, %d distinct same-origin links and assets checked", len(seen), len(links))
}
