package api_test

import (
	"fmt"
	"testing"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestHardening_RateLimitIPv6Per64: an IPv6 client owns a whole /64, so
// the budget is per /64, not per address; 25 sign-ins from 25 addresses
// of one /64 behind a trusted proxy meet the default 20 a minute.
func TestHardening_RateLimitIPv6Per64(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithTrustedProxies("127.0.0.1"))
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 20 })
	c := app.Client()
	body := map[string]string{"identifier": "nobody", "password": "wrong-password"}
	limited := 0
	for i := 1; i <= 25; i++ {
		ip := fmt.Sprintf("2001:db8:1:2:%x::%x", i*7, i)
		if st := c.POST("/api/auth/login", body, "X-Forwarded-For", ip).Status; st == 429 {
			limited++
		} else if st != 401 {
			t.Fatalf("attempt %d from %s: status %d", i, ip, st)
		}
	}
	if limited != 5 {
		t.Fatalf("%d of 25 sign-ins from one /64 were limited, want 5", limited)
	}
	// Another /64 has its own budget.
	c.POST("/api/auth/login", body, "X-Forwarded-For", "2001:db8:1:3::1").Expect(401)
	// IPv4 stays per address, also when written IPv4-mapped.
	for i := 0; i < 20; i++ {
		c.POST("/api/auth/login", body, "X-Forwarded-For", "198.51.100.7").Expect(401)
	}
	c.POST("/api/auth/login", body, "X-Forwarded-For", "::ffff:198.51.100.7").Expect(429)
	c.POST("/api/auth/login", body, "X-Forwarded-For", "::ffff:198.51.100.8").Expect(401)
	c.POST("/api/auth/login", body, "X-Forwarded-For", "198.51.100.8").Expect(401)
}
