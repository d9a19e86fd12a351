package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Issue 20's target: webhook fan-out keeps up with 500 account changes a
// second. Both benchmarks make 500 status changes a second for 5 seconds
// (100 accounts, each raising account.status_changed for two endpoints:
// about 1,000 deliveries a second) with 16 paced workers, and report:
//
//   - changes/s: the rate the generator reached (500 when it kept pace);
//   - deliveries/s and lag-ms: how long after the last change the last
//     delivery arrived (the sender polls every second and is woken by
//     each change: a lag within a second or two means it kept up);
//   - missing: deliveries recorded in the database (events × endpoints)
//     that no receiver got, and duplicates; both must be 0;
//   - failed-changes: changes refused (a 500, e.g. SQLITE_BUSY on a
//     machine so loaded that a writer waits out the busy timeout);
//   - kept-up: 1 when the generator reached 98% of 500/s, no change
//     failed, nothing is missing and the lag is under 2 s; else 0;
//   - cpu-µs/change(all) and cores@500/s: the process's user+sys CPU per
//     change (generator, server, sender and two receivers that verify
//     every signature, in one process) and what that is at 500 changes a
//     second. These do not depend on the machine's load the way the rates
//     do: cores@500/s below the cores the machine has (2 here) says the
//     target is met on this machine's CPU even when the rates, measured
//     under load from other work, fall short.
//
// BenchmarkWebhooks_FanOut makes the changes through the HTTP API (session
// cookie, the whole middleware chain, the JSON answer with the account's
// detail); BenchmarkWebhooks_FanOutService through the service layer
// (Users.SetStatus: the same change transaction, audit row and event
// rows), so that its CPU per change is the fan-out without the HTTP
// generator and request handling.
func BenchmarkWebhooks_FanOut(b *testing.B) {
	for range b.N {
		benchFanOut(b, func(app *testkit.App, super *testkit.User, workers int) func(w int, publicID, status string) bool {
			// One transport for the workers, keeping a connection each
			// (net/http's default keeps two per host and redials the rest).
			tr := &http.Transport{MaxIdleConns: 2 * workers, MaxIdleConnsPerHost: 2 * workers, IdleConnTimeout: time.Minute}
			b.Cleanup(tr.CloseIdleConnections)
			clients := make([]*testkit.Client, workers)
			for w := range clients {
				clients[w] = app.LoginAs(super)
				clients[w].HTTP.Transport = tr
				clients[w].SkipSpec = true // the answers' shape is the API tests' concern
			}
			return func(w int, publicID, status string) bool {
				return clients[w].POST("/api/admin/users/"+publicID+"/status", map[string]any{"status": status}).Status == http.StatusOK
			}
		})
	}
}

func BenchmarkWebhooks_FanOutService(b *testing.B) {
	for range b.N {
		benchFanOut(b, func(app *testkit.App, super *testkit.User, _ int) func(w int, publicID, status string) bool {
			actor := service.Actor{User: super.User, IP: "127.0.0.1", UserAgent: "bench"}
			return func(_ int, publicID, status string) bool {
				_, err := app.Svc.Users.SetStatus(context.Background(), actor, publicID, status, "")
				return err == nil
			}
		})
	}
}

func benchFanOut(b *testing.B, generator func(app *testkit.App, super *testkit.User, workers int) func(w int, publicID, status string) bool) {
	const rate, seconds, accounts, workers = 500, 5, 100, 16
	app := testkit.NewApp(b, testkit.WithHTTPWebhooks())
	super := app.SuperAdmin("root")
	ac := app.LoginAs(super)
	rcvs := []*benchReceiver{newBenchReceiver(b), newBenchReceiver(b)}
	for _, r := range rcvs {
		var res struct{ Secret string }
		ac.POST("/api/admin/webhooks", map[string]any{"url": r.URL, "events": service.WebhookEventTypes}).Expect(http.StatusCreated).JSON(&res)
		key, err := service.WebhookKey(res.Secret)
		if err != nil {
			b.Fatal(err)
		}
		r.setKey(key)
	}
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = app.Member(fmt.Sprintf("fan%d", i)).PublicID
	}
	change := generator(app, super, workers)
	waitWebhooks(b, app)
	firstEvent := lastEventID(b, app)
	for _, r := range rcvs {
		r.reset()
	}
	cpu0 := cpuTime()
	start := time.Now()
	total := rate * seconds
	// Each worker's own schedule: together one change every 2 ms.
	tick := time.Duration(workers) * time.Second / rate
	// A change refused (e.g. SQLITE_BUSY when the machine is so loaded
	// that a writer waits out the busy timeout) is counted, not fatal.
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(time.Duration(w) * time.Second / rate)
			for i := w; i < total; i += workers {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(tick)
				status := "suspended"
				if (i/accounts)%2 == 1 {
					status = "active"
				}
				if !change(w, ids[i%accounts], status) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	changed := time.Since(start)
	cpuChanged := cpuTime() - cpu0
	// Two workers can make the same account's status change twice (the
	// second is a no-op without an event): the database says how many
	// events there were; every one must reach both receivers once.
	expected := 0
	if err := app.Svc.DB.NewSelect().Table("webhook_events").Where("id > ?", firstEvent).ColumnExpr("count(*)").Scan(context.Background(), &expected); err != nil {
		b.Fatal(err)
	}
	expected *= len(rcvs)
	deadline := time.Now().Add(30 * time.Second)
	var last time.Time
	delivered, duplicates := 0, 0
	for {
		delivered, duplicates, last = 0, 0, time.Time{}
		for _, r := range rcvs {
			n, d, l := r.stats()
			delivered, duplicates = delivered+n, duplicates+d
			if l.After(last) {
				last = l
			}
		}
		if delivered >= expected || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if last.IsZero() {
		last = time.Now()
	}
	done := last.Sub(start)
	cpu := cpuTime() - cpu0
	for _, r := range rcvs {
		if bad := r.problems(); bad != "" {
			b.Fatalf("receiver: %s", bad)
		}
	}
	lag := max(last.Sub(start.Add(changed)), 0)
	keptUp := 0.0
	if float64(total)/changed.Seconds() >= 0.98*rate && failed.Load() == 0 && delivered == expected && duplicates == 0 && lag < 2*time.Second {
		keptUp = 1
	}
	b.ReportMetric(float64(total)/changed.Seconds(), "changes/s")
	b.ReportMetric(float64(delivered)/done.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lag.Milliseconds()), "lag-ms")
	b.ReportMetric(float64(failed.Load()), "failed-changes")
	b.ReportMetric(float64(expected-delivered), "missing")
	b.ReportMetric(float64(duplicates), "duplicates")
	b.ReportMetric(keptUp, "kept-up")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(delivered, 1)), "cpu-µs/delivery(all)")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/change(all)")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total)*rate/1e6, "cores@500/s")
	b.ReportMetric(float64(cpuChanged.Microseconds())/changed.Seconds()/1e6, "cores-used-while-changing")
}

// lastEventID answers the newest webhook event's id (0 when none).
func lastEventID(b *testing.B, app *testkit.App) int64 {
	var id int64
	if err := app.Svc.DB.NewSelect().Table("webhook_events").ColumnExpr("COALESCE(MAX(id), 0)").Scan(context.Background(), &id); err != nil {
		b.Fatal(err)
	}
	return id
}

// benchReceiver verifies every request's signature per Standard Webhooks
// (HMAC-SHA256 of id.timestamp.body with the endpoint's secret), counts
// each message once and notes repeats, bad signatures and messages of an
// account that arrive out of order (webhook-ids grow with the events).
type benchReceiver struct {
	URL        string
	mu         sync.Mutex
	key        []byte
	seen       map[string]bool
	lastOf     map[string]int64
	duplicates int
	bad        []string
	last       time.Time
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{}
	r.reset()
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	b.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *benchReceiver) setKey(k []byte) { r.mu.Lock(); r.key = k; r.mu.Unlock() }

func (r *benchReceiver) reset() {
	r.mu.Lock()
	r.seen, r.lastOf, r.duplicates, r.bad, r.last = map[string]bool{}, map[string]int64{}, 0, nil, time.Time{}
	r.mu.Unlock()
}

func (r *benchReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	r.mu.Lock()
	key := r.key
	r.mu.Unlock()
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	valid := false
	for _, s := range strings.Fields(req.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			valid = true
		}
	}
	// The account is the payload's data.account.publicId; a cheap find
	// rather than a decode (the bench's own cost is not what it measures).
	account := ""
	if _, rest, ok := strings.Cut(string(body), `"account":{"publicId":"`); ok {
		account, _, _ = strings.Cut(rest, `"`)
	}
	n, _ := strconv.ParseInt(strings.TrimPrefix(id, "msg_"), 10, 64)
	r.mu.Lock()
	switch {
	case !valid:
		r.bad = append(r.bad, id+": no valid signature")
	case r.seen[id]:
		r.duplicates++
	default:
		r.seen[id] = true
		if n < r.lastOf[account] {
			r.bad = append(r.bad, fmt.Sprintf("%s: after msg_%d of account %s", id, r.lastOf[account], account))
		}
		r.lastOf[account] = max(r.lastOf[account], n)
		r.last = time.Now()
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *benchReceiver) stats() (int, int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen), r.duplicates, r.last
}

func (r *benchReceiver) problems() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%d bad requests, first %v", len(r.bad), r.bad[:min(len(r.bad), 5)])
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
