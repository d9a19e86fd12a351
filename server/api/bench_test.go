package api_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
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
