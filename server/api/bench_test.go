package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server/config"
	"gatehouse/server/testkit"
)

// benchUsers is the seeded size of the HTTP benchmarks (BENCH_USERS,
// default 20000).
func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// BenchmarkExportCSV streams the CSV export of every seeded account
// through the real router and reports the rows it wrote per second. With
// BENCH_DATA naming a seeded data directory (scripts/bench.sh passes its
// own once its server has stopped) it exports that directory's accounts.
func BenchmarkExportCSV(b *testing.B) {
	var app *testkit.App
	want := -1
	if dir := os.Getenv("BENCH_DATA"); dir != "" {
		app = testkit.NewApp(b, func(c *config.Config) { c.DataDir = dir })
	} else {
		app = testkit.NewApp(b)
		if err := app.Svc.Seed(context.Background(), benchUsers(), nil); err != nil {
			b.Fatal(err)
		}
		want = benchUsers() + 1
	}
	root := app.SuperAdmin("benchroot" + strconv.FormatInt(time.Now().UnixNano(), 36))
	c := app.LoginAs(root)
	var rows int
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", app.URL+"/api/admin/users/export.csv", nil)
		res, err := c.HTTP.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := countLines(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res.StatusCode, err)
		}
		rows = n - 1
	}
	if want >= 0 && rows != want {
		b.Fatalf("%d rows exported of %d accounts", rows, want)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 1<<16)
	n := 0
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkOIDCProvider_RefreshGrant: the token endpoint's refresh grant
// (rotation: one conditional write, a new token, an ES256-signed ID
// token) through the real router on a temp SQLite database, 16 clients at
// once, each following its own chain of refresh tokens. It reports
// requests per second and CPU time (user+sys of the whole process, client
// included) per request.
func BenchmarkOIDCProvider_RefreshGrant(b *testing.B) {
	const clients = 16
	app := testkit.NewApp(b)
	root := app.LoginAs(app.SuperAdmin("root"))
	id, secret := registerApp(b, root, map[string]any{"name": "Bench", "firstParty": true})
	r := newRP(b, app, id, secret)
	tokens := make([]string, clients)
	for i := range tokens {
		tok, _ := r.login(app.LoginAs(app.Member("bench" + strconv.Itoa(i))))
		tokens[i] = tok.RefreshToken
	}
	form := func(rt string) string {
		return "grant_type=refresh_token&refresh_token=" + rt
	}
	tr := r.http.Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost = clients
	const perClient = 50
	total := 0
	cpu0 := cpuTime()
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for n := 0; n < perClient; n++ {
					req, _ := http.NewRequest(http.MethodPost, app.Cfg.BaseURL+"/oauth/token", strings.NewReader(form(tokens[i])))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(id, secret)
					res, err := r.http.Do(req)
					if err != nil {
						errs <- err
						return
					}
					var out struct {
						RefreshToken string `json:"refresh_token"`
						IDToken      string `json:"id_token"`
					}
					err = json.NewDecoder(res.Body).Decode(&out)
					res.Body.Close()
					if err != nil || res.StatusCode != 200 || out.RefreshToken == "" || out.IDToken == "" {
						errs <- fmt.Errorf("refresh: %d %v", res.StatusCode, err)
						return
					}
					tokens[i] = out.RefreshToken
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		total += clients * perClient
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(total), "cpu-µs/req")
}
