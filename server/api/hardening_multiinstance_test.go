package api_test

import (
	"fmt"
	"strconv"
	"testing"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// The rate-limit headers describe the tightest budget the request was
// counted against, so X-RateLimit-Remaining counts down on every sign-in
// even when each attempt names another account (the per-identifier budget
// is fresh each time, the per-client one is not).
func TestHardening_RateLimitRemainingCountsDown(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 5 })
	c := app.Client()
	for i := 0; i < 5; i++ {
		r := c.POST("/api/auth/login", map[string]string{"identifier": fmt.Sprintf("nobody%d", i), "password": "wrong-password"}).Expect(401)
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(4-i); got != want {
			t.Fatalf("attempt %d: X-RateLimit-Remaining %q, want %q", i+1, got, want)
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != "5" {
			t.Fatalf("attempt %d: X-RateLimit-Limit %q", i+1, got)
		}
	}
	r := c.POST("/api/auth/login", map[string]string{"identifier": "nobody9", "password": "wrong-password"}).Expect(429)
	if got := r.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Fatalf("429: X-RateLimit-Remaining %q", got)
	}
	// The same account again: the per-identifier budget counts down too.
	app.SetSecurity(func(s *service.SecuritySettings) { s.AuthRateLimitPerMinute = 4 })
	for i := 0; i < 3; i++ {
		r := c.POST("/api/auth/login", map[string]string{"identifier": "same", "password": "wrong-password"}).Expect(401)
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(3-i); got != want {
			t.Fatalf("same account attempt %d: X-RateLimit-Remaining %q, want %q", i+1, got, want)
		}
	}
}
