package api_test

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"gatehouse/server/testkit"
)

// BenchmarkHardening_ForgotResendTiming measures item 13: the answer time
// of forgot-password and resend-verification through the real router for
// an address that has an account and one that has none, in 150
// alternating pairs, and reports the medians (µs). Run with
//
//	go test -tags nomsgpack ./server/api -run '^$' -bench Hardening_ForgotResendTiming -benchtime 1x
//
// Each request is timed after the previous one's background work and
// email have finished (app.Drain and 20 ms). The clock moves two minutes per pair so that every request for the
// known address does its full work (the one-mail-a-minute limit never
// short-cuts it).
func BenchmarkHardening_ForgotResendTiming(b *testing.B) {
	app := testkit.NewApp(b)
	app.Mailbox()
	app.Member("alice")
	app.CreateUser(testkit.UserSpec{Username: "penny", Email: "penny@example.com", Status: "pending"})
	c := app.Client()
	measure := func(path, email string) time.Duration {
		// Each answer is timed alone: the work queued by the previous
		// request, and the email it queued, have finished first.
		app.Drain()
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		r := c.POST(path, map[string]string{"email": email})
		d := time.Since(start)
		if r.Status != http.StatusAccepted {
			b.Fatalf("%s: %d", path, r.Status)
		}
		return d
	}
	median := func(ds []time.Duration) float64 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return float64(ds[len(ds)/2].Microseconds())
	}
	for _, tc := range []struct{ name, path, known string }{
		{"forgot", "/api/auth/forgot-password", "alice@example.com"},
		{"resend", "/api/auth/resend-verification", "penny@example.com"},
	} {
		var known, unknown []time.Duration
		for i := 0; i < 150; i++ {
			app.Clock.Advance(2 * time.Minute)
			if i%2 == 0 {
				known = append(known, measure(tc.path, tc.known))
				unknown = append(unknown, measure(tc.path, "nobody@example.com"))
			} else {
				unknown = append(unknown, measure(tc.path, "nobody@example.com"))
				known = append(known, measure(tc.path, tc.known))
			}
		}
		b.ReportMetric(median(known), tc.name+"-known-µs")
		b.ReportMetric(median(unknown), tc.name+"-unknown-µs")
	}
}
