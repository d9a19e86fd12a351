package api_test

import (
	"strings"
	"testing"

	"gatehouse/server/testkit"
)

func TestMetricsOffByDefaultAndOnWhenAsked(t *testing.T) {
	t.Parallel()
	off := testkit.NewApp(t)
	c := off.Client()
	c.SkipSpec = true
	if r := c.GET("/metrics"); strings.Contains(string(r.Body), "gatehouse_http_requests_total") {
		t.Fatal("metrics served while off")
	}
	on := testkit.NewApp(t, func(c *testkit.Config) { c.Metrics = true })
	c = on.Client()
	c.SkipSpec = true
	c.GET("/api/health").Expect(200)
	r := c.GET("/metrics").Expect(200)
	if !strings.Contains(string(r.Body), `gatehouse_http_requests_total{method="GET",route="/api/health",status="200"} 1`) {
		t.Fatalf("metrics: %.500s", r.Body)
	}
}
