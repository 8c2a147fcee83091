package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServe runs Serve with short timeouts and returns its host:port.
func startServe(t *testing.T, header, idle time.Duration) string {
	t.Helper()
	site, _ := testSite(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Addr: "127.0.0.1:0", Dir: site, headerTimeout: header, idleTimeout: idle}, &stdout, &stderr)
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
	// The client waits up to 20 times the server's timeout, so only the
	// server's timeout can close the connections in time.
	for i, conn := range slow {
		got, closed := closedByServer(conn, 20*time.Second)
		if !closed {
			t.Fatalf("slow connection %d still open 20 s after its headers began (timeout 1 s)", i)
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
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	rest, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("idle keep-alive connection still open after 20 s (idle timeout 1 s)")
	}
	if len(rest) != 0 {
		t.Errorf("the server sent %q on an idle connection", rest)
	}
}

// The defaults: loopback only, and timeouts that bound slow clients.
func TestServeDefaultsAreLoopbackWithTimeouts(t *testing.T) {
	host, _, err := net.SplitHostPort(defaultServeAddr)
	if err != nil || !isLoopbackHost(host) {
		t.Errorf("default address %q is not a loopback address", defaultServeAddr)
	}
	if defaultHeaderTimeout <= 0 || defaultHeaderTimeout > 30*time.Second || defaultIdleTimeout <= 0 || defaultIdleTimeout > 10*time.Minute {
		t.Errorf("header timeout %v, idle timeout %v: want both set and bounded", defaultHeaderTimeout, defaultIdleTimeout)
	}
}
