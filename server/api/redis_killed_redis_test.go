//go:build redis

package api_test

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// privateRedis starts a redis-server of this test's own on a free port (the
// shared one that make test-go-redis uses is never stopped) and returns its
// URL and a function that kills it.
func privateRedis(t *testing.T) (url string, kill func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not on PATH; .ci/run installs it")
	}
	// The port is free when picked but another process may take it before
	// redis-server binds it; then redis-server exits and we pick again.
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		kill = func() {
			select {
			case <-done:
				return
			default:
			}
			cmd.Process.Kill()
			<-done
		}
		t.Cleanup(kill)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if waitListening(addr, done) {
			return "redis://" + addr + "/0", kill
		}
		kill()
		if attempt == 3 {
			t.Fatal("redis-server did not start (3 tries)")
		}
	}
}

// waitListening dials addr until it answers (true), the process ends
// (false) or 5 seconds pass (false).
func waitListening(addr string, exited <-chan struct{}) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Redis killed under a running instance: the limit (5 a minute) still
// holds, counted in memory, sign-in stays fast, and /api/ready says the
// instance is degraded.
func TestRedisKilled_LimitsStillHold(t *testing.T) {
	url, kill := privateRedis(t)
	app := testkit.NewApp(t, func(c *testkit.Config) { c.RedisURL = url })
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 5 })
	c := app.Client()
	if statuses, _ := signInBurst(t, c, 2); count(statuses, 429) != 0 {
		t.Fatalf("with Redis up: %v", statuses)
	}
	if status, body := readyBody(t, app); status != 200 || body["status"] != "ok" {
		t.Fatalf("ready with Redis up = %d %v", status, body)
	}
	kill()
	statuses, slowest := signInBurst(t, c, 8)
	if n := count(statuses, 429); n < 3 {
		t.Errorf("after Redis died: statuses %v, %d refused; want at least 3 of 8 over a limit of 5", statuses, n)
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("slowest sign-in %v with Redis dead; want under 500ms", slowest)
	}
	if status, body := readyBody(t, app); status != 200 || body["status"] != "degraded" {
		t.Errorf("ready after Redis died = %d %v; want 200 degraded", status, body)
	}
}
