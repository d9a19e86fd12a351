package redisstore

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// fakeRedis is a loopback server speaking RESP whose answers come from
// handle. It records every command with the number of the connection it
// came on. A handle answer of "" closes the connection instead.
type fakeRedis struct {
	t      *testing.T
	ln     net.Listener
	handle func(args []string) string

	mu       sync.Mutex
	commands []string // "conn# CMD arg..."
	conns    int
	open     atomic.Int32
	maxOpen  atomic.Int32
}

func startFake(t *testing.T, ln net.Listener, handle func(args []string) string) *fakeRedis {
	t.Helper()
	f := &fakeRedis{t: t, ln: ln, handle: handle}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns++
			id := f.conns
			f.mu.Unlock()
			go f.serve(nc, id)
		}
	}()
	return f
}

func newFake(t *testing.T, handle func(args []string) string) *fakeRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startFake(t, ln, handle)
}

func (f *fakeRedis) serve(nc net.Conn, id int) {
	defer nc.Close()
	n := f.open.Add(1)
	defer f.open.Add(-1)
	for m := f.maxOpen.Load(); n > m && !f.maxOpen.CompareAndSwap(m, n); m = f.maxOpen.Load() {
	}
	r := bufio.NewReader(nc)
	for {
		v, err := readReply(r)
		if err != nil {
			return
		}
		items, _ := v.([]any)
		args := make([]string, len(items))
		for i, it := range items {
			args[i], _ = it.(string)
		}
		f.mu.Lock()
		f.commands = append(f.commands, fmt.Sprintf("%d %s", id, strings.Join(args, " ")))
		f.mu.Unlock()
		answer := f.handle(args)
		if answer == "" {
			return
		}
		if _, err := nc.Write([]byte(answer)); err != nil {
			return
		}
	}
}

func (f *fakeRedis) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commands...)
}

func (f *fakeRedis) url(query string) string {
	return "redis://" + f.ln.Addr().String() + query
}

// scripts answers SCRIPT LOAD with the SHA-1 like Redis, and EVALSHA with
// count and ttl.
func scripts(count, ttl int64) func(args []string) string {
	return func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "SCRIPT":
			sum := sha1.Sum([]byte(args[2]))
			sha := hex.EncodeToString(sum[:])
			return fmt.Sprintf("$%d\r\n%s\r\n", len(sha), sha)
		case "EVALSHA", "EVAL":
			return fmt.Sprintf("*2\r\n:%d\r\n:%d\r\n", count, ttl)
		case "DEL":
			return ":1\r\n"
		}
		return "+OK\r\n"
	}
}

func open(t *testing.T, url string) *Store {
	t.Helper()
	opt, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), opt, "gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var perMinute10 = limiter.Rate{Period: time.Minute, Limit: 10}

func TestNewAuthenticatesSelectsAndLoadsScripts(t *testing.T) {
	t.Parallel()
	f := newFake(t, scripts(1, 60000))
	open(t, strings.Replace(f.url("/2?client_name=gh"), "redis://", "redis://gate:s3cret@", 1))
	log := f.log()
	want := []string{"1 AUTH gate s3cret", "1 SELECT 2", "1 CLIENT SETNAME gh", "1 SCRIPT LOAD " + incrScript, "1 SCRIPT LOAD " + peekScript}
	if strings.Join(log, "|") != strings.Join(want, "|") {
		t.Fatalf("commands:\n%q\nwant:\n%q", log, want)
	}
}

func TestNewFailsOnAWrongPassword(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(args []string) string {
		if args[0] == "AUTH" {
			return "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
		}
		return "+OK\r\n"
	})
	opt, _ := ParseURL(strings.Replace(f.url(""), "redis://", "redis://:nope@", 1))
	if _, err := New(context.Background(), opt, "gatehouse"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("New with a wrong password: %v", err)
	}
}

func TestNewFailsWhenNobodyListens(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	opt, _ := ParseURL("redis://" + addr + "?dial_timeout=1")
	if _, err := New(context.Background(), opt, "gatehouse"); err == nil {
		t.Fatal("New succeeded with nothing listening")
	}
}

func TestIncrementRunsTheScriptOnThePrefixedKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, scripts(3, 59000))
	s := open(t, f.url(""))
	lc, err := s.Increment(context.Background(), "auth:20:10.1.2.3", 2, perMinute10)
	if err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(59 * time.Second).Unix()
	if lc.Limit != 10 || lc.Remaining != 7 || lc.Reached || lc.Reset < reset-1 || lc.Reset > reset+1 {
		t.Fatalf("context %+v", lc)
	}
	log := f.log()
	if got, want := log[len(log)-1], "1 EVALSHA "+incr.sha+" 1 gatehouse:auth:20:10.1.2.3 2 60000"; got != want {
		t.Fatalf("command %q, want %q", got, want)
	}
}

func TestOverTheLimitIsReached(t *testing.T) {
	t.Parallel()
	s := open(t, newFake(t, scripts(11, 1000)).url(""))
	lc, err := s.Get(context.Background(), "k", perMinute10)
	if err != nil || !lc.Reached || lc.Remaining != 0 {
		t.Fatalf("Get past the limit = %+v, %v", lc, err)
	}
}

func TestPeekResetAndScriptErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(args []string) string {
		if args[0] == "EVALSHA" && args[1] == peek.sha {
			return "*2\r\n:4\r\n:-1\r\n"
		}
		if args[0] == "EVALSHA" {
			return "*1\r\n:4\r\n"
		}
		return scripts(0, 0)(args)
	})
	s := open(t, f.url(""))
	ctx := context.Background()
	lc, err := s.Peek(ctx, "k", perMinute10)
	if err != nil || lc.Remaining != 6 || lc.Reset < time.Now().Add(59*time.Second).Unix() {
		t.Fatalf("Peek = %+v, %v", lc, err)
	}
	if lc, err := s.Reset(ctx, "k", perMinute10); err != nil || lc.Remaining != 10 {
		t.Fatalf("Reset = %+v, %v", lc, err)
	}
	if _, err := s.Get(ctx, "k", perMinute10); err == nil || !strings.Contains(err.Error(), "two integers") {
		t.Fatalf("Get with a malformed script answer: %v", err)
	}
	log := f.log()
	if got := log[len(log)-2]; got != "1 DEL gatehouse:k" {
		t.Fatalf("Reset sent %q", got)
	}
}

// After a restart or SCRIPT FLUSH the server no longer knows the SHA: the
// store sends the script itself.
func TestUnknownScriptIsSentWhole(t *testing.T) {
	t.Parallel()
	var flushed atomic.Bool
	flushed.Store(true)
	f := newFake(t, func(args []string) string {
		if args[0] == "EVALSHA" && flushed.Load() {
			return "-NOSCRIPT No matching script. Please use EVAL.\r\n"
		}
		if args[0] == "EVAL" {
			flushed.Store(false)
		}
		return scripts(1, 60000)(args)
	})
	s := open(t, f.url(""))
	for range 2 {
		if lc, err := s.Get(context.Background(), "k", perMinute10); err != nil || lc.Remaining != 9 {
			t.Fatalf("Get = %+v, %v", lc, err)
		}
	}
	log := f.log()
	want := []string{"1 EVALSHA " + incr.sha + " 1 gatehouse:k 1 60000", "1 EVAL " + incrScript + " 1 gatehouse:k 1 60000", "1 EVALSHA " + incr.sha + " 1 gatehouse:k 1 60000"}
	if got := log[len(log)-3:]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("commands %q, want %q", got, want)
	}
}

// An error reply leaves the connection usable; a connection the server
// closed while it lay idle is replaced without the caller noticing.
func TestConnectionReuseAndReplacement(t *testing.T) {
	t.Parallel()
	var closeNext atomic.Bool
	f := newFake(t, func(args []string) string {
		if closeNext.CompareAndSwap(true, false) {
			return ""
		}
		if args[0] == "DEL" {
			return "-ERR something odd\r\n"
		}
		return scripts(1, 60000)(args)
	})
	s := open(t, f.url(""))
	ctx := context.Background()
	if _, err := s.Reset(ctx, "k", perMinute10); err == nil || !strings.Contains(err.Error(), "something odd") {
		t.Fatalf("Reset with an error reply: %v", err)
	}
	if _, err := s.Get(ctx, "k", perMinute10); err != nil {
		t.Fatal(err)
	}
	closeNext.Store(true) // the pooled connection dies on its next command
	if _, err := s.Get(ctx, "k", perMinute10); err != nil {
		t.Fatalf("Get after the server closed the idle connection: %v", err)
	}
	f.mu.Lock()
	conns := f.conns
	f.mu.Unlock()
	if conns != 2 {
		t.Fatalf("%d connections, want 2 (the first kept after the error reply, then one replacement):\n%q", conns, f.log())
	}
}

func TestPoolSizeBoundsConnections(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(args []string) string {
		if args[0] == "EVALSHA" {
			time.Sleep(20 * time.Millisecond)
		}
		return scripts(1, 60000)(args)
	})
	s := open(t, f.url("?pool_size=2"))
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			_, err := s.Get(context.Background(), "k", perMinute10)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := f.maxOpen.Load(); m != 2 {
		t.Fatalf("at most %d connections open at once, want 2", m)
	}
}

func TestPoolTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFake(t, func(args []string) string {
		if args[0] == "EVALSHA" {
			<-release
		}
		return scripts(1, 60000)(args)
	})
	s := open(t, f.url("?pool_size=1&pool_timeout=50ms"))
	done := make(chan error)
	go func() {
		_, err := s.Get(context.Background(), "slow", perMinute10)
		done <- err
	}()
	// The first Get holds the only connection once its EVALSHA reached
	// the server (a fixed sleep could lose that race on a loaded machine).
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(strings.Join(f.log(), "\n"), "EVALSHA"); {
		if time.Now().After(deadline) {
			t.Fatal("the first Get never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := s.Get(context.Background(), "k", perMinute10)
	close(release)
	if !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("second Get while the only connection is busy: %v, want ErrPoolTimeout", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReadTimeout(t *testing.T) {
	t.Parallel()
	// The stalled EVALSHA never answers (until the test ends), so Get can
	// only come back through the read timeout. The timeout is generous
	// because it also bounds New's SCRIPT LOADs: at 50 ms a loaded machine
	// (load 40 on 2 cores) timed out the fake's first answer in New.
	stall := make(chan struct{})
	f := newFake(t, func(args []string) string {
		if args[0] == "EVALSHA" {
			<-stall
		}
		return scripts(1, 60000)(args)
	})
	t.Cleanup(func() { close(stall) })
	const timeout = time.Second
	s := open(t, f.url("?read_timeout="+timeout.String()))
	start := time.Now()
	_, err := s.Get(context.Background(), "k", perMinute10)
	took := time.Since(start)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() || took < timeout || took > 20*time.Second {
		t.Fatalf("Get against a stalled server: %v after %v, want a timeout after %v", err, took, timeout)
	}
	if n := strings.Count(strings.Join(f.log(), "\n"), "EVALSHA"); n != 1 {
		t.Fatalf("%d EVALSHA sent, want 1 (a timed-out hit must not be counted again)", n)
	}
}

func TestUnixSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "redis.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := startFake(t, ln, scripts(1, 60000))
	s := open(t, "unix://"+path+"?db=5")
	if _, err := s.Get(context.Background(), "k", perMinute10); err != nil {
		t.Fatal(err)
	}
	if log := f.log(); log[0] != "1 SELECT 5" {
		t.Fatalf("first command %q, want SELECT 5", log[0])
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	f := startFake(t, ln, scripts(1, 60000))
	port := ln.Addr().(*net.TCPAddr).Port
	// The certificate is self-signed: refused unless verification is off.
	opt, _ := ParseURL(fmt.Sprintf("rediss://localhost:%d", port))
	if _, err := New(context.Background(), opt, "gatehouse"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("New against an untrusted certificate: %v", err)
	}
	s := open(t, fmt.Sprintf("rediss://localhost:%d?skip_verify=true", port))
	if _, err := s.Get(context.Background(), "k", perMinute10); err != nil {
		t.Fatal(err)
	}
	if len(f.log()) != 3 {
		t.Fatalf("commands over TLS: %q", f.log())
	}
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	s := open(t, newFake(t, scripts(1, 60000)).url(""))
	s.Close()
	if _, err := s.Get(context.Background(), "k", perMinute10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}
