//go:build redis

// This file runs with `-tags redis` and GATEHOUSE_TEST_REDIS_URL pointing at
// a Redis server (make test-go-redis; .ci/run starts one).
package api_test

import (
	"os"
	"testing"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Two instances configured with the same Redis share their counters: the
// budget spent on one is gone on the other.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	url := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if url == "" {
		t.Fatal("GATEHOUSE_TEST_REDIS_URL is not set; run through make test-go-redis")
	}
	withRedis := func(c *testkit.Config) { c.RedisURL = url }
	a, b := testkit.NewApp(t, withRedis), testkit.NewApp(t, withRedis)
	for _, app := range []*testkit.App{a, b} {
		app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 997 })
	}
	body := map[string]string{"identifier": "nobody-" + t.Name(), "password": "wrong-password"}
	// Use up most of the IP budget on instance a...
	spent := 0
	for ; spent < 997; spent++ {
		if a.Client().POST("/api/auth/login", body).Status == 429 {
			break
		}
	}
	// ...and instance b counts on from there.
	r := b.Client().POST("/api/auth/login", body)
	if r.Status != 429 {
		t.Fatalf("instance b answered %d after instance a spent the budget (%d requests)", r.Status, spent)
	}
}
