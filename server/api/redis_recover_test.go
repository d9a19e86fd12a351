//go:build redis

// This file runs with `-tags redis` and GATEHOUSE_TEST_REDIS_URL pointing at
// a Redis server (make test-go-redis; .ci/run starts one).
package api_test

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Redis fails, then comes back (through a proxy that cuts and restores
// the connections): while it is away /metrics says gatehouse_redis_up 0
// and /api/ready "degraded"; once it answers again both go back by
// themselves (up 1, "ok"), with no restart.
func TestRedisFailsAndRecovers_MetricAndReadyFollow(t *testing.T) {
	raw := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if raw == "" {
		t.Fatal("GATEHOUSE_TEST_REDIS_URL is not set; run through make test-go-redis")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testkit.NewTCPProxy(t, u.Host)
	u.Host = proxy.Addr
	app := testkit.NewApp(t, func(c *testkit.Config) { c.RedisURL = u.String(); c.Metrics = true })
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 1000 })
	signIn := func() {
		app.Client().POST("/api/auth/login", map[string]string{"identifier": "nobody-" + t.Name(), "password": "wrong-password"})
	}
	state := func() (metric bool, ready string) {
		m := app.Client().GET("/metrics")
		_, body := readyBody(t, app)
		s, _ := body["status"].(string)
		return strings.Contains(string(m.Body), "\ngatehouse_redis_up 1\n"), s
	}
	signIn()
	if up, ready := state(); !up || ready != "ok" {
		t.Fatalf("Redis up: metric up %v, ready %q", up, ready)
	}

	proxy.Cut()
	signIn() // the failed command opens the circuit
	if up, ready := state(); up || ready != "degraded" {
		t.Fatalf("Redis cut: metric up %v, ready %q", up, ready)
	}

	proxy.Restore()
	deadline := time.Now().Add(15 * time.Second) // a hang guard: the probe asks every second
	for {
		up, ready := state()
		if up && ready == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back for 15 s: metric up %v, ready %q", up, ready)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
