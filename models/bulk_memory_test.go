package models

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun"
)

// TestRunBulkTx_SQLiteMemoryBounded: a bulk change that dirties more pages
// than any cache would hold (some 40 MB here) keeps SQLite's own memory
// small. SQLite's page cache is outside the Go heap and its soft limit,
// and in modernc's allocator each 4 KiB page with its header takes an
// 8 KiB slot, so a cache costs about twice its size in the server's
// resident set; at 1,000,000 accounts the 32 MiB bulk cache put a
// 100,000-account status change at 254-273 MiB (bound: 256 MiB) and saved
// no CPU measurably (BENCHMARKS.md, session 14, h2).
func TestRunBulkTx_SQLiteMemoryBounded(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "bulk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, s TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 40000)
INSERT INTO t (id, v) SELECT x, printf('%.1000c', 'v') FROM c`); err != nil {
		t.Fatal(err)
	}
	// The peak resident set of this process during the change, against
	// what it held before: SQLite's memory is outside the Go heap (and in
	// modernc's allocator outside any C-level statistics this build keeps).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set: %v", err)
	}
	before := procStatusKiB(t, "VmRSS")
	err = RunBulkTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE t SET s = 'changed'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.NewRaw(`SELECT count(*) FROM t WHERE s = 'changed'`).Scan(ctx, &n); err != nil || n != 40000 {
		t.Fatalf("changed rows: %d, %v", n, err)
	}
	const budget = 24 << 10 // KiB
	if grew := procStatusKiB(t, "VmHWM") - before; grew > budget {
		t.Fatalf("the resident set grew by %d MiB during a bulk change of 40 MB of rows; the budget is %d MiB", grew>>10, budget>>10)
	}
}

// procStatusKiB reads a "Name: N kB" line of /proc/self/status.
func procStatusKiB(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}
