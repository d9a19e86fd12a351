package cli_test

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"gatehouse/server/testkit"
)

// gatehouseProc runs the command line in a process of its own (the test
// binary doubles as gatehouse, see TestMain) and returns its exit code and
// output.
func gatehouseProc(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runAsBinary+"=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatal(err)
	}
	return 0, string(out)
}

// concurrentMigrate starts n `gatehouse migrate` at once and fails the test
// unless every one exits 0.
func concurrentMigrate(t *testing.T, n int, args ...string) []string {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], outs[i] = gatehouseProc(t, nil, append(args, "migrate")...)
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 0 {
			t.Errorf("migrate %d of %d exited %d:\n%s", i+1, n, codes[i], outs[i])
		}
	}
	return outs
}

// Instances that start together wait for each other's migrations: N
// concurrent `migrate` on an empty database all exit 0 (exactly one applies
// the migrations), and on an up-to-date database all are no-ops.
func TestHardening_ConcurrentMigratePostgres(t *testing.T) {
	admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if admin == "" {
		t.Skip("GATEHOUSE_TEST_DATABASE_URL not set (make test-go-postgres runs this)")
	}
	t.Parallel()
	for round := range 2 {
		dbURL := testkit.FreshPostgres(t, admin)
		args := []string{"--data", t.TempDir(), "--database-url", dbURL}
		outs := concurrentMigrate(t, 6, args...)
		checkOneApplied(t, round, outs)
		outs = concurrentMigrate(t, 6, args...)
		for i, o := range outs {
			if !strings.Contains(o, "up to date") {
				t.Errorf("round %d: migrate %d on an up-to-date database: %q", round, i+1, o)
			}
		}
	}
}

func TestHardening_ConcurrentMigrateSQLite(t *testing.T) {
	t.Parallel()
	args := []string{"--data", t.TempDir()}
	outs := concurrentMigrate(t, 6, args...)
	checkOneApplied(t, 0, outs)
	outs = concurrentMigrate(t, 6, args...)
	for i, o := range outs {
		if !strings.Contains(o, "up to date") {
			t.Errorf("migrate %d on an up-to-date database: %q", i+1, o)
		}
	}
}

func checkOneApplied(t *testing.T, round int, outs []string) {
	t.Helper()
	applied := 0
	for _, o := range outs {
		if strings.Contains(o, "Applied") {
			applied++
		}
	}
	if applied != 1 {
		t.Errorf("round %d: %d of %d runs applied migrations, want 1:\n%s", round, applied, len(outs), strings.Join(outs, "\n---\n"))
	}
}
