package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/cli"
)

// The test binary doubles as the gatehouse binary: with this variable set
// it runs the command line instead of the tests, so a test can start the
// real server in a process of its own and kill it with SIGKILL.
const runAsBinary = "GATEHOUSE_TEST_RUN_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(runAsBinary) == "1" {
		os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// child is `gatehouse serve` in a process of its own.
type child struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--data", dir, "--log-level", "warn", "serve", "--http", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runAsBinary+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	select {
	case a := <-addr:
		c.base = "http://" + a
	case <-c.done:
		t.Fatal("gatehouse serve exited before listening")
	case <-time.After(60 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("gatehouse serve did not start listening")
	}
	return c
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// A server killed with SIGKILL in the middle of a bulk status change over
// 20,000 accounts leaves the database as if the change never started or as
// if it finished: never part of it. Checked over several kills at different
// moments, each followed by a restart: SQLite's integrity check, every
// account's status, one audit row per changed account, the per-role counts
// the list relies on, the triggers that a large bulk run sets aside inside
// its transaction, and the search index.
func TestKilledDuringBulkChangeLeavesAllOrNothing(t *testing.T) {
	t.Parallel()
	const accounts = 20_000
	dir := t.TempDir()
	run(t, "", "--data", dir, "seed", "--users", fmt.Sprint(accounts)).expect(t, 0)
	run(t, "", "--data", dir, "admin", "create", "--username", "root", "--password", goodPassword).expect(t, 0)

	db, err := models.OpenSQLite(filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	triggersBefore := triggerNames(t, db)
	db.Close()

	// Kill at several moments after the request went out; the states alternate
	// only when a run got to commit.
	inFlight := 0
	for i, delay := range []time.Duration{30 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond, 900 * time.Millisecond, 2 * time.Second} {
		c := startChild(t, dir)
		client := signIn(t, c.base)
		db, err := models.OpenSQLite(filepath.Join(dir, "gatehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		// Move every member account from the more common of active and
		// suspended to the other.
		countStatus := func(status string) int {
			t.Helper()
			var n int
			if err := db.NewRaw("SELECT count(*) FROM users WHERE role = 'user' AND status = ?", status).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		from, to := models.StatusActive, models.StatusSuspended
		if countStatus(to) > countStatus(from) {
			from, to = to, from
		}
		targets, alreadyTo := countStatus(from), countStatus(to)
		db.Close()

		var answered atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"action":"set_status","filter":{"role":"user","status":%q},"params":{"status":%q},"reason":"crash test %d","skipRefused":true}`, from, to, i)
			res, err := client.Post(c.base+"/api/admin/users/bulk", "application/json", strings.NewReader(body))
			if err == nil {
				res.Body.Close()
				answered.Store(res.StatusCode == http.StatusOK)
			}
		}()
		time.Sleep(delay)
		c.kill()
		wg.Wait()
		if !answered.Load() {
			inFlight++
		}

		db, err = models.OpenSQLite(filepath.Join(dir, "gatehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		step := fmt.Sprintf("kill %d after %v (answered: %v)", i, delay, answered.Load())
		checkIntegrity(t, db, step)
		var nowTo, audits int
		if err := db.NewRaw("SELECT count(*) FROM users WHERE role = 'user' AND status = ?", to).Scan(ctx, &nowTo); err != nil {
			t.Fatal(err)
		}
		if err := db.NewRaw("SELECT count(*) FROM audit_events WHERE reason = ?", fmt.Sprintf("crash test %d", i)).Scan(ctx, &audits); err != nil {
			t.Fatal(err)
		}
		moved := nowTo - alreadyTo
		switch {
		case moved == 0 && audits == 0:
		case moved == targets && audits == targets:
		default:
			t.Fatalf("%s: %d of %d accounts moved from %s to %s, with %d audit rows: a part of the change survived", step, moved, targets, from, to, audits)
		}
		if answered.Load() && moved != targets {
			t.Fatalf("%s: the server answered 200 but the change is not in the database", step)
		}
		t.Logf("%s: %d of %d accounts moved", step, moved, targets)
		checkCounts(t, db, step)
		if got := triggerNames(t, db); strings.Join(got, ",") != strings.Join(triggersBefore, ",") {
			t.Fatalf("%s: triggers %v, before %v", step, got, triggersBefore)
		}
		db.Close()
	}
	if inFlight == 0 {
		t.Fatal("every bulk request finished before its kill: the test never killed a change in progress")
	}

	// And the server starts and works on what is left.
	c := startChild(t, dir)
	client := signIn(t, c.base)
	res, err := client.Get(c.base + "/api/admin/users?q=seed&perPage=5")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("search after the crashes: %d", res.StatusCode)
	}
}

// VACUUM INTO copies one snapshot while writers go on: each backup taken
// during a stream of account creations opens, passes SQLite's integrity
// check, and is consistent in itself (the per-role counts match its rows).
func TestBackupWhileWritesGoOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "seed", "--users", "2000").expect(t, 0)

	stop := make(chan struct{})
	var created atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("writer%05d", i)
			if r := run(t, "", "--data", dir, "admin", "create", "--username", name, "--password", goodPassword, "--role", "user"); r.code != 0 {
				t.Errorf("create %s: %s", name, r.stderr)
				return
			}
			created.Add(1)
		}
	}()

	var sizes []int
	for i := range 3 {
		// Let some writes land between backups.
		for start := created.Load(); created.Load() < start+2; {
			time.Sleep(10 * time.Millisecond)
		}
		out := filepath.Join(t.TempDir(), fmt.Sprintf("backup-%d.db", i))
		run(t, "", "--data", dir, "backup", out).expect(t, 0)
		db, err := models.OpenSQLite(out)
		if err != nil {
			t.Fatal(err)
		}
		step := fmt.Sprintf("backup %d", i)
		checkIntegrity(t, db, step)
		checkCounts(t, db, step)
		var n int
		if err := db.NewRaw("SELECT count(*) FROM users").Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		db.Close()
	}
	close(stop)
	wg.Wait()
	if !(sizes[0] < sizes[1] && sizes[1] < sizes[2]) {
		t.Fatalf("the backups do not show the writes going on: %v accounts", sizes)
	}
}

func signIn(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	body := `{"identifier":"root","password":"` + goodPassword + `"}`
	res, err := client.Post(base+"/api/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e map[string]any
		_ = json.NewDecoder(res.Body).Decode(&e)
		t.Fatalf("sign-in: %d %v", res.StatusCode, e)
	}
	return client
}

func checkIntegrity(t *testing.T, db *bun.DB, step string) {
	t.Helper()
	ctx := context.Background()
	var check string
	if err := db.NewRaw("PRAGMA integrity_check").Scan(ctx, &check); err != nil || check != "ok" {
		t.Fatalf("%s: integrity_check %q %v", step, check, err)
	}
	if err := models.CheckSearchIndex(ctx, db); err != nil {
		t.Fatalf("%s: search index integrity: %v", step, err)
	}
}

// checkCounts compares the per-role-and-status counts kept by triggers with
// the rows.
func checkCounts(t *testing.T, db *bun.DB, step string) {
	t.Helper()
	ctx := context.Background()
	var kept, real string
	if err := db.NewRaw("SELECT coalesce(group_concat(role || '/' || status || '=' || n, ','), '') FROM (SELECT role, status, n FROM user_counts WHERE n <> 0 ORDER BY role, status)").Scan(ctx, &kept); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT coalesce(group_concat(role || '/' || status || '=' || n, ','), '') FROM (SELECT role, status, count(*) AS n FROM users GROUP BY role, status ORDER BY role, status)").Scan(ctx, &real); err != nil {
		t.Fatal(err)
	}
	if kept != real {
		t.Fatalf("%s: user_counts %s, rows %s", step, kept, real)
	}
}

func triggerNames(t *testing.T, db *bun.DB) []string {
	t.Helper()
	var names []string
	if err := db.NewRaw("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	return names
}
