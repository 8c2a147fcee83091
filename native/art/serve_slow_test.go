package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServe runs Serve with short timeouts and returns its host:port.
func startServe(t *testing.T, header, idle time.Duration) string {
	t.Helper()
	site, _ := testSite(t)
	return startServeWith(t, ServeOptions{Dir: site, headerTimeout: header, idleTimeout: idle})
}

// startServeWith runs Serve with the options o on a free loopback port and
// returns its host:port.
func startServeWith(t *testing.T, o ServeOptions) string {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, o, &stdout, &stderr)
	}()
	url := waitURL(t, &stdout)
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
}

// closedByServer reads from conn until the server closes it, giving up
// after limit; it returns what the server sent and whether it closed.
func closedByServer(conn net.Conn, limit time.Duration) (string, bool) {
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), false
	}
	return string(b), true
}

// Slow clients (slowloris): connections that never finish their request
// headers are closed by the server once its header-read timeout (1 s here,
// 10 s by default) has passed, and meanwhile they do not stop other
// clients from being served.
func TestServeClosesConnectionsThatNeverFinishTheirHeaders(t *testing.T) {
	addr := startServe(t, time.Second, time.Minute)
	var slow []net.Conn
	for range 20 {
		conn, err := net.Dial("tcp", addr)
		must(t, err)
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, conn)
	}
	resp, err := http.Get("http://" + addr + "/")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != testIndex {
		t.Errorf("with 20 slow connections open, GET / gave %d %q", resp.StatusCode, body)
	}
	// The client waits up to two minutes, generous on a loaded machine:
	// without the server's timeout the connections would stay open forever.
	for i, conn := range slow {
		got, closed := closedByServer(conn, 2*time.Minute)
		if !closed {
			t.Fatalf("slow connection %d still open 2 minutes after its headers began (timeout 1 s)", i)
		}
		if got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Errorf("slow connection %d was answered %q", i, got)
		}
	}
}

// An idle keep-alive connection is closed by the server after its idle
// timeout (1 s here, 2 min by default).
func TestServeClosesIdleKeepAliveConnections(t *testing.T) {
	addr := startServe(t, time.Minute, time.Second)
	conn, err := net.Dial("tcp", addr)
	must(t, err)
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != testIndex || resp.Close {
		t.Fatalf("keep-alive GET: %d %q (close %v)", resp.StatusCode, body, resp.Close)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	rest, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("idle keep-alive connection still open after 2 minutes (idle timeout 1 s)")
	}
	if len(rest) != 0 {
		t.Errorf("the server sent %q on an idle connection", rest)
	}
}

// The defaults: loopback only, timeouts that bound slow clients, and a cap
// on connections.
func TestServeDefaultsAreLoopbackWithTimeouts(t *testing.T) {
	host, _, err := net.SplitHostPort(defaultServeAddr)
	if err != nil || !isLoopbackHost(host) {
		t.Errorf("default address %q is not a loopback address", defaultServeAddr)
	}
	for _, d := range []struct {
		name       string
		value, max time.Duration
	}{{"header", defaultHeaderTimeout, 30 * time.Second}, {"read", defaultReadTimeout, time.Minute},
		{"write", defaultWriteTimeout, 5 * time.Minute}, {"idle", defaultIdleTimeout, 10 * time.Minute}} {
		if d.value <= 0 || d.value > d.max {
			t.Errorf("%s timeout %v: want it set and at most %v", d.name, d.value, d.max)
		}
	}
	if defaultMaxConns < 16 || defaultMaxConns > 1024 {
		t.Errorf("at most %d connections: want a cap well under the usual 1024 open files", defaultMaxConns)
	}
}

// connEvents counts the server's connections through its ConnState hook:
// how many are open, the most open at once, and each close.
type connEvents struct {
	mu           sync.Mutex
	open, peak   int
	news, closed chan struct{}
}

func newConnEvents() *connEvents {
	return &connEvents{news: make(chan struct{}, 1000), closed: make(chan struct{}, 1000)}
}

func (e *connEvents) hook(_ net.Conn, s http.ConnState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch s {
	case http.StateNew:
		e.open++
		e.peak = max(e.peak, e.open)
		e.news <- struct{}{}
	case http.StateClosed, http.StateHijacked:
		e.open--
		e.closed <- struct{}{}
	}
}

// wait waits for n events on ch, failing the test after a generous limit
// that only a server that never acts reaches.
func wait(t *testing.T, ch chan struct{}, n int, what string) {
	t.Helper()
	limit := time.After(2 * time.Minute)
	for i := range n {
		select {
		case <-ch:
		case <-limit:
			t.Fatalf("%s: %d of %d events after 2 minutes", what, i, n)
		}
	}
}

// At most maxConns connections are open at once: 10 clients that never
// finish their headers (the server's timeouts an hour here) hold 4 slots,
// the others wait to be accepted, and each is accepted once one before it
// has gone. The hook sees at most 4 open at any time.
func TestServeCapsConcurrentConnections(t *testing.T) {
	site, _ := testSite(t)
	ev := newConnEvents()
	addr := startServeWith(t, ServeOptions{Dir: site, maxConns: 4, headerTimeout: time.Hour, readTimeout: time.Hour,
		idleTimeout: time.Hour, connState: ev.hook})
	var conns []net.Conn
	for range 10 {
		conn, err := net.Dial("tcp", addr)
		must(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: ")
		must(t, err)
		conns = append(conns, conn)
	}
	wait(t, ev.news, 4, "the first 4 connections accepted")
	for _, c := range conns {
		c.Close()
	}
	wait(t, ev.closed, 10, "all 10 connections served and closed")
	ev.mu.Lock()
	peak := ev.peak
	ev.mu.Unlock()
	if peak != 4 {
		t.Errorf("%d connections were open at once, want the cap of 4", peak)
	}
}

// A GET or HEAD with a body, or a request of another method, is answered
// and closed at once, its body never read: 50 clients declaring a 100 kB
// body and sending one byte hold nothing (the were held 45 s, one
// 151 s), although the server's read timeouts are an hour here.
func TestServeClosesRequestsWithBodiesAtOnce(t *testing.T) {
	site, _ := testSite(t)
	addr := startServeWith(t, ServeOptions{Dir: site, headerTimeout: time.Hour, readTimeout: time.Hour, idleTimeout: time.Hour})
	for i := range 50 {
		method := []string{"GET", "POST", "PUT"}[i%3]
		conn, err := net.Dial("tcp", addr)
		must(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, method+" / HTTP/1.1\r\nHost: "+addr+"\r\nContent-Length: 100000\r\n\r\nx")
		must(t, err)
		got, closed := closedByServer(conn, 2*time.Minute)
		want := map[string]string{"GET": "HTTP/1.1 400", "POST": "HTTP/1.1 405", "PUT": "HTTP/1.1 405"}[method]
		if !closed || !strings.HasPrefix(got, want) {
			t.Fatalf("%s with a trickling body: closed %v, answer %.60q, want %s and the connection closed", method, closed, got, want)
		}
	}
}

// A client that asks for a large file and never reads is dropped at the
// write timeout (1 s here): its connection and the file it held are
// released (the 300 such clients held 1000 open files).
func TestServeDropsClientsThatNeverRead(t *testing.T) {
	site, _ := testSite(t)
	// More than loopback socket buffers hold, so the write blocks.
	big := make([]byte, 48<<20)
	must(t, os.WriteFile(filepath.Join(site, "big.wasm"), big, 0o644))
	ev := newConnEvents()
	addr := startServeWith(t, ServeOptions{Dir: site, writeTimeout: time.Second, headerTimeout: time.Hour,
		readTimeout: time.Hour, idleTimeout: time.Hour, connState: ev.hook})
	var conns []net.Conn
	for range 5 {
		conn, err := net.Dial("tcp", addr)
		must(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /big.wasm HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		must(t, err)
		conns = append(conns, conn)
	}
	wait(t, ev.closed, len(conns), "clients that never read dropped")
}

// "OPTIONS *" reaches the handler: 405 with the security headers, even with
// a foreign Host (Go's general OPTIONS handler answered 200 without them).
func TestServeOptionsStarIsRefusedWithTheSecurityHeaders(t *testing.T) {
	addr := startServe(t, time.Minute, time.Minute)
	conn, err := net.Dial("tcp", addr)
	must(t, err)
	defer conn.Close()
	must(t, conn.SetDeadline(time.Now().Add(2*time.Minute)))
	_, err = io.WriteString(conn, "OPTIONS * HTTP/1.1\r\nHost: evil.example\r\n\r\n")
	must(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("OPTIONS *: %d, headers %v; want a refusal with the security headers", resp.StatusCode, resp.Header)
	}
}
