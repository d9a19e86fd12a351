package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// BenchmarkWebhooks_FanOut (make bench): 500 account changes per second
// for 5 seconds through the API, each raising an event for two endpoints
// (1,000 deliveries a second); reports the changes and deliveries per
// second achieved, how long after the last change the last delivery
// arrived (lag), and the process CPU time per delivery.
func BenchmarkWebhooks_FanOut(b *testing.B) {
	const rate, seconds, accounts = 500, 5, 100
	for range b.N {
		app := testkit.NewApp(b, testkit.WithHTTPWebhooks())
		rcvA, rcvB := newBenchReceiver(b), newBenchReceiver(b)
		super := app.SuperAdmin("root")
		ac := app.LoginAs(super)
		for _, u := range []string{rcvA.URL, rcvB.URL} {
			ac.POST("/api/admin/webhooks", map[string]any{"url": u, "events": service.WebhookEventTypes}).Expect(http.StatusCreated)
		}
		ids := make([]string, accounts)
		for i := range ids {
			ids[i] = app.Member(fmt.Sprintf("fan%d", i)).PublicID
		}
		waitWebhooks(b, app)
		before := rcvA.count() + rcvB.count()
		cpu0 := cpuTime()
		start := time.Now()
		total := rate * seconds
		var wg sync.WaitGroup
		workers := 16
		tick := time.Second / time.Duration(rate/workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := app.LoginAs(super)
				c.SkipSpec = true
				next := time.Now()
				for i := w; i < total; i += workers {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					next = next.Add(tick)
					status := "suspended"
					if (i/accounts)%2 == 1 {
						status = "active"
					}
					c.POST("/api/admin/users/"+ids[i%accounts]+"/status", map[string]any{"status": status}).Expect(http.StatusOK)
				}
			}()
		}
		wg.Wait()
		changed := time.Since(start)
		// Concurrent workers can repeat an account's status (a no-op, no
		// event): wait for the queue to drain, then count what arrived.
		waitWebhooks(b, app)
		done := time.Since(start)
		cpu := cpuTime() - cpu0
		delivered := rcvA.count() + rcvB.count() - before
		b.ReportMetric(float64(total)/changed.Seconds(), "changes/s")
		b.ReportMetric(float64(delivered)/done.Seconds(), "deliveries/s")
		b.ReportMetric((done-changed).Seconds()*1000, "lag-ms")
		b.ReportMetric(float64(cpu.Microseconds())/float64(max(delivered, 1)), "cpu-µs/delivery(all)")
		// The same process time per account change (server, senders and
		// receivers together): independent of the machine's load.
		b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/change(all)")
		_ = context.Background()
	}
}

type benchReceiver struct {
	URL string
	mu  sync.Mutex
	n   int
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{}
	srv := newReceiverServer(b, func() { r.mu.Lock(); r.n++; r.mu.Unlock() })
	r.URL = srv
	return r
}

func (r *benchReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
