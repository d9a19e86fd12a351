package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// logLines is a slog handler's output, safe to read while written.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count answers how many lines hold msg.
func (l *logLines) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), msg)
}

// shortIntervals makes the probe and the outage log fast for one test (the
// tests that change them do not run in parallel).
func shortIntervals(t *testing.T, probe, log time.Duration) {
	p, l := probeInterval, logInterval
	probeInterval, logInterval = probe, log
	t.Cleanup(func() { probeInterval, logInterval = p, l })
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a timing assertion
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The circuit breaker: while Redis answers, counts are Redis's; the first
// failed command opens the circuit and counting goes on in this instance's
// memory (limits still hold) without asking Redis again; a lasting outage
// is logged once per logInterval, not on every probe; once Redis answers a
// PING the circuit closes and counts are Redis's again.
func TestGuarded_OpensCountsLocallyLogsOncePerIntervalAndCloses(t *testing.T) {
	shortIntervals(t, 20*time.Millisecond, 300*time.Millisecond)
	var down atomic.Bool
	var pings atomic.Int32
	redisCount := scripts(42, 60)
	f := newFake(t, func(args []string) string {
		if down.Load() {
			return "" // the connection closes: a failed command
		}
		if strings.EqualFold(args[0], "PING") {
			pings.Add(1)
			return "+PONG\r\n"
		}
		return redisCount(args)
	})
	opt, err := ParseURL(f.url(""))
	if err != nil {
		t.Fatal(err)
	}
	lines := &logLines{}
	g, err := NewGuarded(context.Background(), opt, "gatehouse", false, slog.New(slog.NewTextHandler(lines, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	ctx := context.Background()
	rate := limiter.Rate{Period: time.Minute, Limit: 3}
	if lc, err := g.Increment(ctx, "k", 1, rate); err != nil || !g.Up() || lc.Remaining != 0 || !lc.Reached {
		t.Fatalf("Redis up: %+v %v (up %v); want Redis's count 42", lc, err, g.Up())
	}

	down.Store(true)
	for i := 1; i <= 5; i++ {
		lc, err := g.Increment(ctx, "k", 1, rate)
		if err != nil {
			t.Fatalf("hit %d with Redis down: %v", i, err)
		}
		if g.Up() {
			t.Fatalf("hit %d: the circuit is still closed", i)
		}
		if want := i > 3; lc.Reached != want {
			t.Fatalf("hit %d counted in memory: reached %v, want %v (%+v)", i, lc.Reached, want, lc)
		}
	}
	sent := len(f.log())
	if _, err := g.Increment(ctx, "other", 1, rate); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.log()[sent:] {
		if !strings.Contains(c, "PING") {
			t.Fatalf("a request asked Redis with the circuit open: %q", c)
		}
	}
	if n := lines.count("Redis failed"); n != 1 {
		t.Fatalf("%d 'Redis failed' lines, want 1:\n%s", n, lines.buf.String())
	}

	// About a second of outage: the probe asks every 20 ms, the log says
	// it again only every 300 ms.
	time.Sleep(time.Second)
	if n := lines.count("Redis still unavailable"); n < 1 || n > 4 {
		t.Fatalf("%d 'still unavailable' lines in a second at one per 300 ms:\n%s", n, lines.buf.String())
	}

	down.Store(false)
	eventually(t, "the circuit closes once Redis answers", g.Up)
	if pings.Load() == 0 || lines.count("Redis answers again") != 1 {
		t.Fatalf("closed without a PING or without saying so: %d pings\n%s", pings.Load(), lines.buf.String())
	}
	if lc, err := g.Increment(ctx, "k", 1, rate); err != nil || lc.Remaining != 0 || !lc.Reached {
		t.Fatalf("Redis back: %+v %v", lc, err)
	}
}

// Redis down at start: required refuses with a message that names the
// flag; otherwise the store starts with the circuit open and a warning,
// counts in memory, and takes Redis into use once it answers.
func TestGuarded_RedisDownAtStart(t *testing.T) {
	shortIntervals(t, 20*time.Millisecond, time.Minute)
	// A server that closes every connection: Redis not answering.
	var down atomic.Bool
	down.Store(true)
	redisCount := scripts(1, 60)
	f := newFake(t, func(args []string) string {
		if down.Load() {
			return ""
		}
		if strings.EqualFold(args[0], "PING") {
			return "+PONG\r\n"
		}
		return redisCount(args)
	})
	opt, err := ParseURL(f.url(""))
	if err != nil {
		t.Fatal(err)
	}
	lines := &logLines{}
	log := slog.New(slog.NewTextHandler(lines, nil))
	if _, err := NewGuarded(context.Background(), opt, "gatehouse", true, log); err == nil || !strings.Contains(err.Error(), "--redis-required") {
		t.Fatalf("required, Redis down: %v", err)
	}
	g, err := NewGuarded(context.Background(), opt, "gatehouse", false, log)
	if err != nil {
		t.Fatalf("not required, Redis down: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	if g.Up() || lines.count("Redis does not answer at start") != 1 {
		t.Fatalf("up %v, log:\n%s", g.Up(), lines.buf.String())
	}
	rate := limiter.Rate{Period: time.Minute, Limit: 1}
	for i, want := range []bool{false, true} {
		if lc, err := g.Increment(context.Background(), "k", 1, rate); err != nil || lc.Reached != want {
			t.Fatalf("hit %d in memory: %+v %v", i+1, lc, err)
		}
	}
	down.Store(false) // Redis answers now
	eventually(t, "Redis taken into use once it answers", g.Up)
	if lc, err := g.Increment(context.Background(), "k", 1, rate); err != nil || lc.Reached {
		t.Fatalf("first hit in Redis (its count 1): %+v %v", lc, err)
	}
}
