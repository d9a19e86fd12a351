package multiinstance_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// pgCtlEnv names the command that stops and starts the PostgreSQL server of
// GATEHOUSE_TEST_DATABASE_URL: "stop" or "start" is appended to it and the
// line runs with sh -c. .ci/run sets it (pg_ctlcluster VERSION CLUSTER);
// locally point the suite at a cluster of your own, e.g.
//
//	pg_createcluster 15 mi -p 5499 --start
//	GATEHOUSE_TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5499/postgres?sslmode=disable \
//	GATEHOUSE_TEST_PG_CTL='pg_ctlcluster 15 mi' make test-multiinstance
//
// "skip" skips the scenario knowingly (never in CI: .ci/run sets it).
const pgCtlEnv = "GATEHOUSE_TEST_PG_CTL"

// TestMultiInstance_PostgresRestart stops the real PostgreSQL server under
// two serving instances and starts it again: every answer during the
// outage (the requests in flight as it stops included) is a 503
// storage_unavailable with Retry-After, never a 500, and afterwards both
// instances recover without a restart: the sessions from before are still
// valid and signing in works on each.
//
// The stop ends the whole server, so nothing else may use it meanwhile:
// `make test` runs its Go suites one after another (test-go-postgres
// before test-multiinstance; .NOTPARALLEL keeps it so under make -j) and
// this package runs its tests one at a time. The server is started again
// when the test ends, passed or failed, and by a watchdog process should
// the test binary itself die (a -timeout panic runs no cleanup).
func TestMultiInstance_PostgresRestart(t *testing.T) {
	pgAdmin, _ := needServers(t)
	ctl := strings.TrimSpace(os.Getenv(pgCtlEnv))
	switch ctl {
	case "":
		t.Fatalf("%s is not set: give the command that stops and starts the PostgreSQL server of GATEHOUSE_TEST_DATABASE_URL (e.g. 'pg_ctlcluster 15 main'; .ci/run sets it), or 'skip' to skip this scenario knowingly", pgCtlEnv)
	case "skip":
		t.Skipf("%s=skip", pgCtlEnv)
	}
	pgUp := func() bool {
		db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(pgAdmin), pgdriver.WithTimeout(2*time.Second)))
		defer db.Close()
		return db.PingContext(context.Background()) == nil
	}
	if !pgUp() {
		t.Fatalf("PostgreSQL at %s is not up before the test", pgAdmin)
	}
	run := func(action string) error {
		out, err := exec.Command("sh", "-c", ctl+" "+action).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v\n%s", ctl, action, err, out)
		}
		return nil
	}

	c := NewCluster(t, Options{})
	a, b := c.Instances()[0], c.Instances()[1]
	lb := c.LB.URL
	root := c.Client()
	if r := root.Do("POST", a.Base, "/api/setup", map[string]string{"token": setupLink(t, a), "username": "root", "password": password}); r.Status != http.StatusCreated {
		t.Fatalf("setup: %s", r)
	}
	root.SignIn(lb, "root", password)
	root.Settings(a.Base, "security", map[string]any{"rateLimitEnabled": false})
	c.addUser(t, "alice", "user")
	alice := c.Client()
	alice.SignIn(lb, "alice", password)

	// Registered before the stop, so it runs whatever happens below (and
	// before the cluster's own cleanups, which drop its database).
	var watchdog *exec.Cmd
	t.Cleanup(func() {
		if !pgUp() {
			if err := run("start"); err != nil {
				t.Errorf("starting PostgreSQL again after the test: %v", err)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for !pgUp() {
			if time.Now().After(deadline) {
				t.Errorf("PostgreSQL is still down 60 s after the test; start it: %s start", ctl)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if watchdog != nil {
			_ = watchdog.Process.Kill()
			_ = watchdog.Wait()
		}
	})
	// The watchdog: a shell of its own process group that starts the
	// server once this test binary has gone, however it went.
	watchdog = exec.Command("sh", "-c", fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 0.5; done; %s start >/dev/null 2>&1", os.Getpid(), ctl))
	watchdog.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := watchdog.Start(); err != nil {
		t.Fatal(err)
	}

	// Traffic on both instances all along: alice's session, an
	// administrator's list, sign-ins. Every answer must be a 200 or the
	// 503 of an unreachable database.
	var (
		mu      sync.Mutex
		bad     []string
		counts  = map[int]int{}
		stop    atomic.Bool
		traffic sync.WaitGroup
	)
	check := func(r *Response) {
		mu.Lock()
		defer mu.Unlock()
		counts[r.Status]++
		ok := r.Status == 200 || (r.Status == http.StatusServiceUnavailable && r.Code() == "storage_unavailable" && r.Header.Get("Retry-After") != "")
		if !ok && len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("%s (Retry-After %q)", r, r.Header.Get("Retry-After")))
		}
	}
	for _, inst := range []*Instance{a, b} {
		for _, job := range []func(*Client){
			func(cl *Client) { check(alice.In(t).Do("GET", inst.Base, "/api/me", nil)) },
			func(cl *Client) { check(root.In(t).Do("GET", inst.Base, "/api/admin/users?q=ali", nil)) },
			func(cl *Client) {
				check(cl.Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": "alice", "password": password}))
				time.Sleep(100 * time.Millisecond)
			},
		} {
			traffic.Add(1)
			go func() {
				defer traffic.Done()
				cl := c.Client().In(t)
				for !stop.Load() {
					job(cl)
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}
	time.Sleep(500 * time.Millisecond)

	if err := run("stop"); err != nil {
		stop.Store(true)
		traffic.Wait()
		t.Fatal(err)
	}
	// Down for certain now: each instance answers 503 with Retry-After.
	for _, inst := range []*Instance{a, b} {
		cl := c.Client().In(t)
		for _, r := range []*Response{
			cl.Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": "alice", "password": password}),
			root.In(t).Do("GET", inst.Base, "/api/admin/users", nil),
			alice.In(t).Do("GET", inst.Base, "/api/me", nil),
		} {
			if r.Status != http.StatusServiceUnavailable || r.Code() != "storage_unavailable" || r.Header.Get("Retry-After") == "" {
				t.Errorf("PostgreSQL stopped: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
			}
		}
		if r := cl.Do("GET", inst.Base, "/api/ready", nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("ready with PostgreSQL stopped: %s", r)
		}
	}
	time.Sleep(time.Second)
	if err := run("start"); err != nil {
		stop.Store(true)
		traffic.Wait()
		t.Fatal(err)
	}
	// Both recover by themselves: the sessions from before the restart
	// are valid on each instance, and signing in works on each.
	for _, inst := range []*Instance{a, b} {
		Eventually(t, 30*time.Second, func() string {
			if r := alice.In(t).Do("GET", inst.Base, "/api/me", nil); r.Status != 200 {
				return "alice's session after the restart: " + r.String()
			}
			if r := root.In(t).Do("GET", inst.Base, "/api/admin/users", nil); r.Status != 200 {
				return "list after the restart: " + r.String()
			}
			return ""
		})
		c.Client().In(t).SignIn(inst.Base, "alice", password)
		if r := root.In(t).Do("GET", inst.Base, "/api/ready", nil); r.Status != 200 {
			t.Errorf("ready after the restart: %s", r)
		}
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	traffic.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("answers during the test by status: %v", counts)
	for _, s := range bad {
		t.Errorf("during the restart: %s", s)
	}
	if len(bad) > 0 {
		for _, inst := range []*Instance{a, b} {
			for _, line := range strings.Split(inst.Stderr(), "\n") {
				if strings.Contains(line, "internal error") {
					t.Logf("%s: %s", inst.Base, line)
				}
			}
		}
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[200] == 0 {
		t.Errorf("the traffic saw no outage or no service: %v", counts)
	}
}
