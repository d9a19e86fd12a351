package api_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

// TestExport_WriteDeadlineExtendedPerChunk: an export that runs longer
// than the server's write timeout, and longer than one chunk's deadline,
// reaches the client whole, because each chunk moves the write deadline
// on. Issue 18: the 60 s write timeout cut a 200k-account export mid-row
// with no error. Here the server's write timeout is 0.5 s, a chunk's
// deadline 1 s, and the export reads 9 chunks of 5 accounts, each taking
// 0.3 s (about 2.7 s in all).
func TestExport_WriteDeadlineExtendedPerChunk(t *testing.T) {
	app := testkit.NewApp(t)
	if err := app.Svc.Seed(t.Context(), 40, nil); err != nil {
		t.Fatal(err)
	}
	admin := app.Admin("exporter")
	const (
		chunk       = 5
		chunkDelay  = 300 * time.Millisecond
		deadline    = time.Second
		serverLimit = 500 * time.Millisecond
	)
	restore := api.SlowExportChunks(chunk, chunkDelay, deadline)
	defer restore()
	base, client := signedInWithWriteTimeout(t, app, serverLimit, admin)
	var accounts int
	if err := app.Svc.DB.NewRaw("SELECT COUNT(*) FROM users").Scan(t.Context(), &accounts); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := client.Get(base + "/api/admin/users/export.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("export: %s", resp.Status)
	}
	if readErr != nil {
		t.Fatalf("the export was cut after %s (%d bytes): %v", took.Round(time.Millisecond), len(body), readErr)
	}
	if took < 2*deadline {
		t.Fatalf("the export took %s: too short to show anything", took)
	}
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	if len(lines) != accounts+1 || strings.Contains(string(body), api.ExportFailedMarker) {
		t.Fatalf("%d lines for %d accounts; last %q", len(lines), accounts, lines[len(lines)-1])
	}
}
