package api_test

import (
	"net/http"
	"testing"

	"gatehouse/server/testkit"
)

// TestRelease_HealthNamesTheBuild: /api/health answers the version, commit
// and build date the binary was stamped with (the console footer shows
// them), and the answer matches the OpenAPI document (the client checks).
func TestRelease_HealthNamesTheBuild(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	m := app.Client().GET("/api/health").Expect(http.StatusOK).Map()
	if m["status"] != "ok" || m["version"] != "test" {
		t.Fatalf("health %v", m)
	}
	for _, k := range []string{"commit", "built"} {
		if s, ok := m[k].(string); !ok || s == "" {
			t.Fatalf("health lacks %s: %v", k, m)
		}
	}
}
