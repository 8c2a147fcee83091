package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServeOptions are the flags of "art serve".
type ServeOptions struct {
	Addr string `json:"addr"`
	Dir  string `json:"dir"`

	// headerTimeout and idleTimeout, when not zero, replace the default
	// header-read and keep-alive idle timeouts (tests shorten them).
	headerTimeout, idleTimeout time.Duration
}

// The server's defaults: a client has headerTimeout to send its request
// headers, and an idle keep-alive connection is closed after idleTimeout.
const (
	defaultServeAddr     = "127.0.0.1:8080"
	defaultHeaderTimeout = 10 * time.Second
	defaultIdleTimeout   = 2 * time.Minute
)

func runServe(args []string, stdout, stderr io.Writer) error {
	o := ServeOptions{Addr: defaultServeAddr, Dir: "dist"}
	fs := flag.NewFlagSet("art serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", o.Addr, "address to listen on (HOST:PORT); a non-loopback host exposes the site to the network")
	fs.StringVar(&o.Dir, "dir", o.Dir, "folder of the static site (written by ./build.sh web)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Serve(ctx, o, stdout, stderr)
}

// Serve serves the static site in o.Dir on o.Addr until ctx is done, then
// shuts the server down, letting requests in flight finish.
func Serve(ctx context.Context, o ServeOptions, stdout, stderr io.Writer) error {
	h, err := NewStaticHandler(o.Dir)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return fmt.Errorf("serve: -addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", o.Addr)
	}
	loopback := isLoopbackHost(host)
	h.loopbackOnly = loopback
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if !loopback {
		fmt.Fprintf(stderr, "warning: listening on %s, reachable from other machines; use -addr 127.0.0.1:PORT to keep the site local\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "serving %s at %s (Ctrl-C to stop)\n", o.Dir, openURL(ln.Addr()))
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(o.headerTimeout, defaultHeaderTimeout),
		IdleTimeout:       cmp.Or(o.idleTimeout, defaultIdleTimeout),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	<-done
	fmt.Fprintln(stdout, "server stopped")
	return nil
}

// isLoopbackHost reports whether host names only this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// openURL is the address to give a browser: an unspecified host (all
// interfaces) is reached locally through 127.0.0.1.
func openURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// contentSecurityPolicy lets the page run its own scripts and WebAssembly
// ('wasm-unsafe-eval' allows WebAssembly.instantiate, not eval), start its
// workers, and fetch from its own origin only. The hashes of an HTML file's
// inline scripts are added to script-src per response.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'%s; worker-src 'self' blob:; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

// contentTypes are the types of the site's files. A fixed table rather than
// mime.TypeByExtension: the system's tables differ between machines, and a
// wrong type for .wasm or .js stops the page.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".wasm":        "application/wasm",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".svg":         "image/svg+xml",
	".ico":         "image/x-icon",
	".webp":        "image/webp",
	".css":         "text/css; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/plain; charset=utf-8",
	".gz":          "application/gzip",
	".webmanifest": "application/manifest+json",
}

func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(filepath.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

// StaticHandler serves the files of one folder, and nothing outside it.
//
// A request path is refused (404) if it holds a "..", "." or empty segment, a
// segment starting with '.', a backslash, a NUL, or an encoded '/', '\' or
// '.' ("%2f", "%5c", "%2e"); the file it names is then resolved with
// filepath.EvalSymlinks and refused (403) unless the real path lies inside
// the folder's real path, so a symbolic link cannot lead out of it. A
// directory is served as its index.html, never as a listing.
type StaticHandler struct {
	root string // real path of the folder

	// loopbackOnly refuses requests whose Host is not a loopback name, so
	// that a web page cannot reach the server through DNS rebinding.
	loopbackOnly bool
}

// NewStaticHandler returns a handler for the site in dir, which must be a
// folder holding index.html.
func NewStaticHandler(dir string) (*StaticHandler, error) {
	hint := "build the site with ./build.sh web, or pick its folder with -dir"
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("serve: folder %q does not exist; %s", dir, hint)
	case err != nil:
		return nil, fmt.Errorf("serve: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("serve: %q is not a folder; %s", dir, hint)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	h := &StaticHandler{root: root}
	if _, err := h.regularFile(filepath.Join(root, "index.html")); err != nil {
		return nil, fmt.Errorf("serve: %q has no index.html; %s", dir, hint)
	}
	return h, nil
}

// errOutside marks a path whose real path is outside the root.
var errOutside = errors.New("outside the served folder")

// resolve returns the real path of name (a path under the root) and its
// file info, refusing one that resolves outside the root.
func (h *StaticHandler) resolve(name string) (string, os.FileInfo, error) {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", nil, err
	}
	if real != h.root && !strings.HasPrefix(real, h.root+string(filepath.Separator)) {
		return "", nil, errOutside
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", nil, err
	}
	return real, fi, nil
}

// regularFile is resolve for a path that must be a regular file.
func (h *StaticHandler) regularFile(name string) (string, error) {
	real, fi, err := h.resolve(name)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", os.ErrNotExist
	}
	return real, nil
}

// localPath turns a request's URL path into a path relative to the root,
// or reports false for a path that could name anything outside it.
func localPath(escaped, decoded string) (string, bool) {
	low := strings.ToLower(escaped)
	for _, bad := range []string{"%2e", "%2f", "%5c", "%00", "\\"} {
		if strings.Contains(low, bad) {
			return "", false
		}
	}
	if !strings.HasPrefix(decoded, "/") || strings.ContainsAny(decoded, "\\\x00") {
		return "", false
	}
	rel := strings.TrimSuffix(decoded[1:], "/")
	if rel == "" {
		return ".", true
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	if path.Clean(rel) != rel || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", false
	}
	return filepath.FromSlash(rel), true
}

func (h *StaticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", fmt.Sprintf(contentSecurityPolicy, ""))
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.loopbackOnly {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !isLoopbackHost(strings.Trim(host, "[]")) {
			http.Error(w, "403 forbidden: host not allowed", http.StatusForbidden)
			return
		}
	}
	rel, ok := localPath(r.URL.EscapedPath(), r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	real, fi, err := h.resolve(filepath.Join(h.root, rel))
	if errors.Is(err, errOutside) {
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Relative links in index.html need the slash.
			target := r.URL.Path + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		real, err = h.regularFile(filepath.Join(real, "index.html"))
		if errors.Is(err, errOutside) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		if err != nil {
			http.NotFound(w, r) // no listing
			return
		}
	} else if !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h.serveFile(w, r, real)
}

// serveFile serves the regular file real, or its precompressed real+".gz"
// when the client accepts gzip.
func (h *StaticHandler) serveFile(w http.ResponseWriter, r *http.Request, real string) {
	hdr := w.Header()
	ctype := contentType(real)
	hdr.Set("Content-Type", ctype)
	// The site is rebuilt in place: revalidate every time (Last-Modified
	// makes that a 304).
	hdr.Set("Cache-Control", "no-cache")
	if strings.HasPrefix(ctype, "text/html") {
		if hashes, err := inlineScriptHashes(real); err == nil && hashes != "" {
			hdr.Set("Content-Security-Policy", fmt.Sprintf(contentSecurityPolicy, hashes))
		}
	}
	send := real
	if !strings.HasSuffix(strings.ToLower(real), ".gz") {
		if gz, err := h.regularFile(real + ".gz"); err == nil {
			hdr.Add("Vary", "Accept-Encoding")
			if acceptsGzip(r.Header.Values("Accept-Encoding")) {
				hdr.Set("Content-Encoding", "gzip")
				send = gz
			}
		}
	}
	f, err := os.Open(send)
	if err != nil {
		hdr.Del("Content-Encoding")
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		hdr.Del("Content-Encoding")
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// acceptsGzip reports whether Accept-Encoding values accept gzip: a "gzip",
// "x-gzip" or "*" coding whose q is not 0 (RFC 9110, section 12.5.3).
func acceptsGzip(values []string) bool {
	gzip, star := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					} else {
						q = 0
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzip = max(gzip, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

var (
	inlineScript = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	srcAttribute = regexp.MustCompile(`(?i)\bsrc\s*=`)
)

// inlineScriptHashes returns " 'sha256-…'" for each inline script of the
// HTML file, so that CSP lets the page's own boot script run without
// 'unsafe-inline'.
func inlineScriptHashes(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	var s strings.Builder
	for _, m := range inlineScript.FindAllSubmatch(b, -1) {
		if srcAttribute.Match(m[1]) || len(m[2]) == 0 {
			continue
		}
		sum := sha256.Sum256(m[2])
		fmt.Fprintf(&s, " 'sha256-%s'", base64.StdEncoding.EncodeToString(sum[:]))
	}
	return s.String(), nil
}
