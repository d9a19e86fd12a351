package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Timeouts of the guarded store when the URL sets none: a rate-limit check
// sits in front of every sign-in, so a Redis that hangs must cost it a
// tenth of a second once, not the client's default seconds on every call.
const (
	GuardedTimeout     = 100 * time.Millisecond
	guardedPoolTimeout = 200 * time.Millisecond
)

// Variables so that the tests can shorten them.
var (
	// probeInterval is how often an open circuit asks Redis whether it is
	// back (PING, off the request path).
	probeInterval = time.Second
	// logInterval is how often a lasting outage is logged again.
	logInterval = time.Minute
)

// Guarded is a limiter store that counts in Redis while Redis answers and,
// while it does not, in a memory store of this instance (a circuit
// breaker): limits then hold per instance instead of not at all. The first
// failed command opens the circuit; requests then never wait on Redis, and
// a background probe closes the circuit as soon as Redis answers a PING.
type Guarded struct {
	redis *Store
	local limiter.Store
	log   *slog.Logger
	addr  string

	mu      sync.Mutex
	open    bool
	since   time.Time
	lastLog time.Time
	lastErr error
	probing bool

	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

var _ limiter.Store = (*Guarded)(nil)

// NewGuarded connects to Redis. When it does not answer, required makes
// this an error; otherwise the store starts with the circuit open (a
// warning is logged) and Redis is taken into use once it answers.
func NewGuarded(ctx context.Context, opt Options, prefix string, required bool, log *slog.Logger) (*Guarded, error) {
	if opt.DialTimeout == 0 {
		opt.DialTimeout = GuardedTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = GuardedTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = guardedPoolTimeout
	}
	g := &Guarded{
		local: memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: prefix, CleanUpInterval: time.Minute}),
		log:   log, addr: opt.Addr, stop: make(chan struct{}),
	}
	s, err := New(ctx, opt, prefix)
	if err != nil {
		if required {
			return nil, fmt.Errorf("%w (--redis-required: not starting without Redis)", err)
		}
		// The scripts are sent with EVAL when Redis comes back (NOSCRIPT).
		s = &Store{prefix: prefix, c: newClient(opt)}
		g.redis = s
		g.mu.Lock()
		g.open, g.since, g.lastErr, g.lastLog = true, time.Now(), err, time.Now()
		g.mu.Unlock()
		log.Warn("Redis does not answer at start; rate limits are counted per instance in memory until it does (use --redis-required to refuse to start instead)", "redis", opt.Addr, "err", err)
		g.startProbe()
		return g, nil
	}
	g.redis = s
	return g, nil
}

// Up reports whether counters are shared through Redis right now.
func (g *Guarded) Up() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.open
}

// Close stops the probe and closes the connections.
func (g *Guarded) Close() error {
	g.once.Do(func() { close(g.stop) })
	g.wg.Wait()
	return g.redis.Close()
}

// pick returns the store to count in.
func (g *Guarded) pick() limiter.Store {
	if g.Up() {
		return g.redis
	}
	return g.local
}

// failed records err from Redis and opens the circuit. A full pool is this
// instance's congestion, not Redis failing: that one request counts
// locally, the circuit stays closed.
func (g *Guarded) failed(err error) {
	if errors.Is(err, ErrPoolTimeout) {
		return
	}
	g.mu.Lock()
	if g.open {
		g.mu.Unlock()
		return
	}
	now := time.Now()
	g.open, g.since, g.lastErr, g.lastLog = true, now, err, now
	g.mu.Unlock()
	g.log.Warn("Redis failed; rate limits are counted per instance in memory until it answers again", "redis", g.addr, "err", err)
	g.startProbe()
}

func (g *Guarded) startProbe() {
	g.mu.Lock()
	if g.probing {
		g.mu.Unlock()
		return
	}
	g.probing = true
	g.mu.Unlock()
	g.wg.Add(1)
	go g.probe()
}

// probe PINGs Redis until it answers, logging a lasting outage once a
// minute, then closes the circuit.
func (g *Guarded) probe() {
	defer g.wg.Done()
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*GuardedTimeout)
		v, err := g.redis.c.Do(ctx, "PING")
		cancel()
		if err == nil && v == "PONG" {
			g.mu.Lock()
			down := time.Since(g.since)
			g.open, g.probing = false, false
			g.mu.Unlock()
			g.log.Info("Redis answers again; rate limits are shared again", "redis", g.addr, "down", down.Round(time.Second).String())
			return
		}
		g.mu.Lock()
		if err != nil {
			g.lastErr = err
		}
		logNow := time.Since(g.lastLog) >= logInterval
		if logNow {
			g.lastLog = time.Now()
		}
		since, last := g.since, g.lastErr
		g.mu.Unlock()
		if logNow {
			g.log.Warn("Redis still unavailable; rate limits are counted per instance in memory", "redis", g.addr, "since", since.UTC().Format(time.RFC3339), "err", last)
		}
	}
}

// Get counts one hit on key.
func (g *Guarded) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return g.Increment(ctx, key, 1, rate)
}

// Increment counts count hits on key.
func (g *Guarded) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	s := g.pick()
	lc, err := s.Increment(ctx, key, count, rate)
	if err != nil && s == limiter.Store(g.redis) {
		g.failed(err)
		return g.local.Increment(ctx, key, count, rate)
	}
	return lc, err
}

// Peek returns the state of key without counting a hit.
func (g *Guarded) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s := g.pick()
	lc, err := s.Peek(ctx, key, rate)
	if err != nil && s == limiter.Store(g.redis) {
		g.failed(err)
		return g.local.Peek(ctx, key, rate)
	}
	return lc, err
}

// Reset forgets the hits on key (in both stores).
func (g *Guarded) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	lc, _ := g.local.Reset(ctx, key, rate)
	if !g.Up() {
		return lc, nil
	}
	lc, err := g.redis.Reset(ctx, key, rate)
	if err != nil {
		g.failed(err)
		return g.local.Reset(ctx, key, rate)
	}
	return lc, nil
}
