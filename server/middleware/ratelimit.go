package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"

	"gatehouse/server/httpx"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// RateLimiter applies the platform rate limits from the security settings,
// per client as resolved through the trusted-proxy list (gin's ClientIP;
// IPv6 clients per /64, see ClientKey), with a memory store by default or Redis when configured. A
// settings change applies to the next request.
type RateLimiter struct {
	store    limiter.Store
	settings *service.Settings
	log      *slog.Logger

	// Window is the period the per-minute limits count over; always a
	// minute in production, shorter in tests that watch a window end.
	Window time.Duration

	mu       sync.Mutex
	limiters map[int64]*limiter.Limiter
}

// NewRateLimiter builds a limiter on store.
func NewRateLimiter(store limiter.Store, settings *service.Settings, log *slog.Logger) *RateLimiter {
	return &RateLimiter{store: store, settings: settings, log: log, Window: time.Minute, limiters: map[int64]*limiter.Limiter{}}
}

func (rl *RateLimiter) limiterFor(perMinute int64) *limiter.Limiter {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	l, ok := rl.limiters[perMinute]
	if !ok {
		l = limiter.New(rl.store, limiter.Rate{Period: rl.Window, Limit: perMinute})
		rl.limiters[perMinute] = l
	}
	return l
}

// Redis states, as /api/ready names them.
const (
	RedisNotConfigured = ""
	RedisOK            = "ok"
	RedisUnavailable   = "unavailable"
)

// RedisState tells whether the counters are shared through Redis: "" when
// no Redis is configured, "ok", or "unavailable" while this instance counts
// in memory because Redis fails.
func (rl *RateLimiter) RedisState() string {
	g, ok := rl.store.(interface{ Up() bool })
	switch {
	case !ok:
		return RedisNotConfigured
	case g.Up():
		return RedisOK
	}
	return RedisUnavailable
}

// Close closes the store when it holds connections.
func (rl *RateLimiter) Close() {
	if c, ok := rl.store.(interface{ Close() error }); ok {
		c.Close()
	}
}

// Scope picks which limit applies.
type Scope string

// Scopes.
const (
	ScopeAPI  Scope = "api"  // general API, RateLimitPerMinute
	ScopeAuth Scope = "auth" // sign-in, registration, reset, 2FA: AuthRateLimitPerMinute
)

// errRateLimited is the 429 answer.
func errRateLimited(retry int) error {
	return &problem.Error{Kind: problem.TooManyRequests, Code: "rate_limited", Message: "Too many requests; wait a moment and try again.", RetryAfter: retry}
}

// Check counts one request under key in scope and returns a 429 error when
// over the limit. It sets the standard rate-limit headers. A Redis outage
// is handled by the store (redisstore.Guarded counts in memory meanwhile);
// any other store failure is logged and lets the request through.
func (rl *RateLimiter) Check(c *gin.Context, scope Scope, key string) error {
	sec, err := rl.settings.Security(c.Request.Context())
	if err != nil {
		return err
	}
	if !sec.RateLimitEnabled {
		return nil
	}
	limit := int64(sec.RateLimitPerMinute)
	if scope != ScopeAPI {
		limit = int64(sec.AuthRateLimitPerMinute)
	}
	// The limit is part of the key so that a changed setting starts fresh.
	lc, err := rl.limiterFor(limit).Get(context.WithoutCancel(c.Request.Context()), fmt.Sprintf("%s:%d:%s", scope, limit, key))
	if err != nil {
		rl.log.ErrorContext(c.Request.Context(), "rate limiter store failed; request allowed", "err", err)
		return nil
	}
	// A request is counted in up to three scopes (the API, the sign-in
	// budget of the client, the budget of one client and account); the
	// headers describe the tightest, so Remaining counts down on each
	// attempt even when every attempt names another account.
	h := c.Writer.Header()
	if prev, err := strconv.ParseInt(h.Get("X-RateLimit-Remaining"), 10, 64); err != nil || lc.Remaining <= prev {
		h.Set("X-RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
		h.Set("X-RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(lc.Reset, 10))
	}
	if lc.Reached {
		retry := int(math.Ceil(time.Until(time.Unix(lc.Reset, 0)).Seconds()))
		return errRateLimited(max(retry, 1))
	}
	return nil
}

// Limit is middleware counting each request per client IP in scope.
func (rl *RateLimiter) Limit(scope Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := rl.Check(c, scope, ClientKey(c.ClientIP())); err != nil {
			httpx.Render(c, err)
			return
		}
		c.Next()
	}
}

// CheckIdentifier counts a sign-in attempt for one (IP, identifier) pair,
// so that guesses at one account are throttled even when the IP's overall
// auth budget is shared.
func (rl *RateLimiter) CheckIdentifier(c *gin.Context, identifier string) error {
	return rl.Check(c, "login", ClientKey(c.ClientIP())+"|"+strings.ToLower(strings.TrimSpace(identifier)))
}

// ClientKey is the rate-limit bucket of a client IP: an IPv4 address (also
// written IPv4-mapped, ::ffff:a.b.c.d) counts alone, an IPv6 address counts
// with its whole /64, because one subscriber is routinely given a /64 and
// can pick any address in it for each request. A value that is not an IP
// is used as it is.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
