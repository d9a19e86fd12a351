package mail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"gatehouse/server/outbound"
)

// scriptedSMTP is an SMTP server on loopback that misbehaves as told:
// "silent" accepts and never greets; "hang" greets, answers EHLO and then
// never answers again; "slow" answers everything correctly but waits
// delay before each answer (each step within the step timeout, the whole
// conversation far beyond the attempt's bound). hungUp tells of each
// client that closed its connection.
func scriptedSMTP(t *testing.T, mode string, delay time.Duration) (port int, hungUp <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := make(chan struct{}, 16)
	var conns []net.Conn
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		close(done)
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() {
				defer func() { c.Close(); gone <- struct{}{} }()
				r := bufio.NewReader(c)
				say := func(line string) bool {
					select {
					case <-time.After(delay):
					case <-done:
						return false
					}
					_, err := c.Write([]byte(line + "\r\n"))
					return err == nil
				}
				silent := func() {
					for {
						if _, err := r.ReadString('\n'); err != nil {
							return
						}
					}
				}
				if mode == "silent" {
					silent()
					return
				}
				if !say("220 localhost ESMTP") {
					return
				}
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						if !say("250 localhost") {
							return
						}
						if mode == "hang" {
							silent()
							return
						}
					case cmd == "DATA":
						if !say("354 go ahead") {
							return
						}
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
						}
						if !say("250 queued") {
							return
						}
					case cmd == "QUIT":
						say("221 bye")
						c.Close()
						silent()
						return
					default:
						if !say("250 ok") {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, gone
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// A mail server that hangs holds a delivery attempt for at most the
// attempt's bound (AttemptTimeout; shortened here to 1 s with steps of
// 400 ms), however it hangs: never greeting, hanging after EHLO, or
// answering every step just inside the step timeout. The attempt is a
// temporary "timeout" failure (the outbox retries it with backoff), its
// socket is closed when Send returns (the server sees the hang-up), and
// no descriptor or goroutine is left behind. Before, go-mail left the
// socket open when the greeting or a later step timed out, and only the
// dial was bounded: the slow server held the attempt for its whole
// conversation.
func TestSend_HungServerIsBoundedAndClosed(t *testing.T) {
	step, bound := stepTimeout, attemptTimeout
	t.Cleanup(func() { stepTimeout, attemptTimeout = step, bound })
	stepTimeout, attemptTimeout = 400*time.Millisecond, time.Second
	msg := Message{To: "bob@example.com", Subject: "Hello", Text: "hello"}
	for _, c := range []struct {
		mode  string
		delay time.Duration
	}{{"silent", 0}, {"hang", 0}, {"slow", 300 * time.Millisecond}} {
		port, hungUp := scriptedSMTP(t, c.mode, c.delay)
		cfg := SMTP{Host: "127.0.0.1", Port: port, TLSMode: "none", SenderAddress: "gatehouse@example.com"}
		fds, routines := openFDs(t), runtime.NumGoroutine()
		for i := 0; i < 3; i++ {
			start := time.Now()
			err := Send(context.Background(), cfg, msg)
			took := time.Since(start)
			var se *SendError
			if !errors.As(err, &se) || se.Reason != outbound.Timeout || se.Permanent {
				t.Fatalf("%s: %v after %v; want a temporary timeout", c.mode, err, took)
			}
			if took > attemptTimeout+300*time.Millisecond {
				t.Fatalf("%s: the attempt took %v; want at most %v", c.mode, took, attemptTimeout)
			}
			select {
			case <-hungUp:
			case <-time.After(500 * time.Millisecond):
				t.Fatalf("%s: the server still holds the connection 500 ms after Send returned", c.mode)
			}
		}
		// The server's side is closed after its read ends too: both ends
		// gone, and the goroutines with them.
		deadline := time.Now().Add(2 * time.Second)
		for openFDs(t) > fds || runtime.NumGoroutine() > routines {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d descriptors (%d before), %d goroutines (%d before)", c.mode, openFDs(t), fds, runtime.NumGoroutine(), routines)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
