package api_test

import (
	"strconv"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

func TestRateLimitAuthEndpoints(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 3 })
	c := app.Client()
	body := map[string]string{"identifier": "nobody", "password": "wrong-password"}
	for i := 0; i < 3; i++ {
		r := c.POST("/api/auth/login", body).Expect(401)
		if r.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("limit header %q", r.Header.Get("X-RateLimit-Limit"))
		}
	}
	r := c.POST("/api/auth/login", body).Expect(429)
	if r.ErrorCode() != "rate_limited" {
		t.Fatal(r.ErrorCode())
	}
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 60 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Health is never limited.
	for i := 0; i < 5; i++ {
		c.GET("/api/health").Expect(200)
	}
	// A spoofed X-Forwarded-For from an untrusted peer does not get a fresh budget.
	c.POST("/api/auth/login", body, "X-Forwarded-For", "203.0.113.9").Expect(429)
	c.POST("/api/auth/login", body, "X-Forwarded-For", "not an ip, at all").Expect(429)
	// Turning the limiter off applies at once.
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = false })
	c.POST("/api/auth/login", body).Expect(401)
}

func TestRateLimitTrustedProxyUsesForwardedIP(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithTrustedProxies("127.0.0.1"))
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 2 })
	c := app.Client()
	body := map[string]string{"identifier": "nobody", "password": "wrong-password"}
	for i := 0; i < 2; i++ {
		c.POST("/api/auth/login", body, "X-Forwarded-For", "198.51.100.1").Expect(401)
	}
	c.POST("/api/auth/login", body, "X-Forwarded-For", "198.51.100.1").Expect(429)
	// Another client behind the same proxy has its own budget.
	c.POST("/api/auth/login", body, "X-Forwarded-For", "198.51.100.2").Expect(401)
}

func TestRateLimitGeneralAPI(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.RateLimitPerMinute = 10 })
	c := app.Client()
	for i := 0; i < 10; i++ {
		c.GET("/api/auth/options").Expect(200)
	}
	c.GET("/api/auth/options").Expect(429)
}

func TestRateLimitResetsAfterTheWindow(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t) // the testkit's window is five seconds, not a minute
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 2 })
	c := app.Client()
	body := map[string]string{"identifier": "nobody", "password": "wrong-password"}
	deadline := time.Now().Add(10 * time.Second)
	for c.POST("/api/auth/login", body).Status != 429 {
		if time.Now().After(deadline) {
			t.Fatal("never limited")
		}
	}
	r := c.POST("/api/auth/login", body).Expect(429)
	if _, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64); err != nil {
		t.Fatalf("X-RateLimit-Reset %q", r.Header.Get("X-RateLimit-Reset"))
	}
	// The window began before the first request; a full window later it is over.
	time.Sleep(5*time.Second + 300*time.Millisecond)
	c.POST("/api/auth/login", body).Expect(401)
}
