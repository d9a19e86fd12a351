package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestWebhooks_DeliveryLogReasonCodes: every failed attempt carries a
// stable reason code (with its parameters) beside the English text, so
// that the console words it in the administrator's language: an answer
// that is not 2xx (bad_status with the status), a refused connection, a
// redirect to another origin, a TLS failure.
func TestWebhooks_DeliveryLogReasonCodes(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	ac := app.LoginAs(app.SuperAdmin("root"))

	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(unavailable.Close)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/other", http.StatusFound)
	}))
	t.Cleanup(elsewhere.Close)
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(untrusted.Close)

	cases := []struct {
		name, url, code string
		params          map[string]any
	}{
		{"bad status", unavailable.URL + "/in", "bad_status", map[string]any{"status": float64(503)}},
		{"refused connection", "http://127.0.0.1:1/in", "connection_refused", nil},
		{"redirect to another origin", elsewhere.URL + "/in", "redirect_refused", nil},
		{"untrusted certificate", untrusted.URL + "/in", "tls", nil},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i], _ = createEndpoint(t, ac, c.url, []string{service.EventAccountCreated}, nil)
	}
	// This test claims the deliveries itself: the background sender could
	// claim them first, and the log below was read before it had written
	// the outcome (seen on PostgreSQL under load).
	app.Svc.Webhooks.Close()
	app.Member("someone")
	if _, err := app.Svc.Webhooks.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		var log struct {
			Items []struct {
				Status          string
				LastError       string
				LastErrorCode   *string
				LastErrorParams map[string]any
			}
		}
		ac.GET("/api/admin/webhooks/" + ids[i] + "/deliveries").Expect(http.StatusOK).JSON(&log)
		if len(log.Items) != 1 {
			t.Fatalf("%s: %d deliveries", c.name, len(log.Items))
		}
		d := log.Items[0]
		if d.LastError == "" {
			t.Errorf("%s: no English text beside the code", c.name)
		}
		if d.LastErrorCode == nil || *d.LastErrorCode != c.code {
			got := "<missing>"
			if d.LastErrorCode != nil {
				got = *d.LastErrorCode
			}
			t.Errorf("%s: lastErrorCode %s, want %s (lastError %q)", c.name, got, c.code, d.LastError)
		}
		if len(c.params) != len(d.LastErrorParams) {
			t.Errorf("%s: lastErrorParams %v, want %v", c.name, d.LastErrorParams, c.params)
		}
		for k, v := range c.params {
			if d.LastErrorParams[k] != v {
				t.Errorf("%s: lastErrorParams %v, want %v", c.name, d.LastErrorParams, c.params)
			}
		}
	}
}
