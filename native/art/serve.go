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
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServeOptions are the flags of "art serve".
type ServeOptions struct {
	Addr string `json:"addr"`
	Dir  string `json:"dir"`

	// When not zero, these replace the defaults below (tests shorten them),
	// and connState is the server's ConnState hook.
	headerTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	maxConns                                              int
	connState                                             func(net.Conn, http.ConnState)
}

// The server's defaults, which bound what slow or idle clients can hold: a
// client has headerTimeout to send its request headers and readTimeout for
// the whole request; a response must be written within writeTimeout (a
// client that never reads is dropped then); an idle keep-alive connection
// is closed after idleTimeout; and at most maxConns connections are open at
// once (more wait to be accepted).
const (
	defaultServeAddr     = "127.0.0.1:8080"
	defaultHeaderTimeout = 10 * time.Second
	defaultReadTimeout   = 30 * time.Second
	defaultWriteTimeout  = 2 * time.Minute
	defaultIdleTimeout   = time.Minute
	defaultMaxConns      = 256
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
	defer h.Close()
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
	limited := newLimitListener(ln, cmp.Or(o.maxConns, defaultMaxConns))
	ln = limited
	if !loopback {
		fmt.Fprintf(stderr, "warning: listening on %s, reachable from other machines; use -addr 127.0.0.1:PORT to keep the site local\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "serving %s at %s (Ctrl-C to stop)\n", o.Dir, openURL(ln.Addr()))
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(o.headerTimeout, defaultHeaderTimeout),
		ReadTimeout:       cmp.Or(o.readTimeout, defaultReadTimeout),
		WriteTimeout:      cmp.Or(o.writeTimeout, defaultWriteTimeout),
		IdleTimeout:       cmp.Or(o.idleTimeout, defaultIdleTimeout),
		ConnState: func(c net.Conn, state http.ConnState) {
			if o.connState != nil {
				o.connState(c, state)
			}
			// A slot is freed after the hooks have seen the connection
			// closed, so that they never see more than maxConns open.
			if state == http.StateClosed || state == http.StateHijacked {
				limited.release(c)
			}
		},
		// "OPTIONS *" reaches the handler, which refuses it with the
		// security headers (Go's own answer was 200 without them).
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     log.New(io.Discard, "", 0),
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

// limitListener accepts at most n connections at once: Accept waits while
// n are open. The server frees a connection's slot (release) once it has
// closed it.
type limitListener struct {
	net.Listener
	slots  chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, free: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// release frees the slot of a connection this listener accepted, once.
func (l *limitListener) release(c net.Conn) {
	if lc, ok := c.(*limitConn); ok {
		lc.once.Do(lc.free)
	}
}

// limitConn is a connection holding a slot of its listener.
type limitConn struct {
	net.Conn
	once sync.Once
	free func()
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
// '.' ("%2f", "%5c", "%2e"). The file it names is then opened through an
// os.Root of the folder, which resolves every component itself and refuses
// one (a symbolic link, absolute or relative) that leads out of the folder
// (403): what is opened is what is checked, so a link swapped between a
// check and the open cannot lead out. A directory is served as its
// index.html, never as a listing; only regular files are served.
type StaticHandler struct {
	root     *os.Root
	rootPath string // real path of the folder

	// loopbackOnly refuses requests whose Host is not a loopback name, so
	// that a web page cannot reach the server through DNS rebinding.
	loopbackOnly bool
}

// NewStaticHandler returns a handler for the site in dir, which must be a
// folder holding index.html. Close releases the folder.
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
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	h := &StaticHandler{root: root, rootPath: real}
	f, _, err := h.open("index.html")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("serve: %q has no index.html; %s", dir, hint)
	}
	f.Close()
	return h, nil
}

// Close releases the folder.
func (h *StaticHandler) Close() error { return h.root.Close() }

// errOutside marks a path that leads outside the root.
var errOutside = errors.New("outside the served folder")

// open opens the regular file or directory rel (a local path) inside the
// root. A FIFO or device is opened without blocking and refused. When the
// root refuses the path but it exists on the unconfined file system, the
// path leads out of the folder: errOutside (only the status code depends on
// that test, never what is served).
func (h *StaticHandler) open(rel string) (*os.File, os.FileInfo, error) {
	f, err := h.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(filepath.Join(h.rootPath, rel)); serr == nil {
				return nil, nil, errOutside
			}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil || !(fi.Mode().IsRegular() || fi.IsDir()) {
		f.Close()
		return nil, nil, os.ErrNotExist
	}
	return f, fi, nil
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
	hasBody := r.ContentLength != 0 || len(r.TransferEncoding) > 0
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		if hasBody {
			answerAndClose(w, r, http.StatusMethodNotAllowed, "405 method not allowed")
			return
		}
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if hasBody {
		answerAndClose(w, r, http.StatusBadRequest, "400 bad request: a GET or HEAD request has no body")
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
	f, fi, err := h.open(rel)
	if errors.Is(err, errOutside) {
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
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
		f.Close()
		rel = filepath.Join(rel, "index.html")
		f, fi, err = h.open(rel)
		if errors.Is(err, errOutside) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		if err != nil || fi.IsDir() {
			if f != nil {
				f.Close()
			}
			http.NotFound(w, r) // no listing
			return
		}
		defer f.Close()
	}
	h.serveFile(w, r, rel, f, fi)
}

// answerAndClose answers a request whose body the server will not read,
// and closes the connection at once. http.Server would otherwise read up
// to 256 kB of the body after the handler, to keep the connection, which a
// client trickling a byte every few seconds can drag on until the read
// timeout.
func answerAndClose(w http.ResponseWriter, r *http.Request, code int, msg string) {
	hdr := w.Header()
	hdr.Set("Connection", "close")
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, msg, code)
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	body := msg + "\n"
	if r.Method == http.MethodHead {
		body = ""
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	_ = hdr.Write(buf)
	buf.WriteString("\r\n" + body)
	_ = buf.Flush()
}

// serveFile serves the regular file f, opened as rel, or its precompressed
// rel+".gz" when the client accepts gzip.
func (h *StaticHandler) serveFile(w http.ResponseWriter, r *http.Request, rel string, f *os.File, fi os.FileInfo) {
	hdr := w.Header()
	ctype := contentType(rel)
	hdr.Set("Content-Type", ctype)
	// The site is rebuilt in place: revalidate every time (Last-Modified
	// makes that a 304).
	hdr.Set("Cache-Control", "no-cache")
	if strings.HasPrefix(ctype, "text/html") {
		if hashes, err := inlineScriptHashes(f); err == nil && hashes != "" {
			hdr.Set("Content-Security-Policy", fmt.Sprintf(contentSecurityPolicy, hashes))
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
	}
	send, sendInfo := f, fi
	if !strings.HasSuffix(strings.ToLower(rel), ".gz") {
		if gz, gzInfo, err := h.open(rel + ".gz"); err == nil {
			defer gz.Close()
			if gzInfo.Mode().IsRegular() {
				hdr.Add("Vary", "Accept-Encoding")
				if acceptsGzip(r.Header.Values("Accept-Encoding")) {
					hdr.Set("Content-Encoding", "gzip")
					send, sendInfo = gz, gzInfo
				}
			}
		}
	}
	http.ServeContent(w, r, "", sendInfo.ModTime(), send)
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

// maxHTMLBytes bounds the HTML read to hash its inline scripts.
const maxHTMLBytes = 16 << 20

// inlineScriptHashes returns " 'sha256-…'" for each inline script of the
// HTML file, so that CSP lets the page's own boot script run without
// 'unsafe-inline'.
func inlineScriptHashes(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxHTMLBytes))
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
