//go:build redis

// This file runs with `-tags redis` and GATEHOUSE_TEST_REDIS_URL pointing at
// a Redis server (make test-go-redis; .ci/run starts one).
package redisstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

func realRedis(t *testing.T) (*Store, Options) {
	t.Helper()
	url := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if url == "" {
		t.Fatal("GATEHOUSE_TEST_REDIS_URL is not set; run through make test-go-redis")
	}
	opt, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), opt, "gatehouse-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, opt
}

// The counters live where ulule's own store keeps them: an integer at
// prefix:key that expires with the window.
func TestRedisCountsInTheWindow(t *testing.T) {
	s, _ := realRedis(t)
	ctx := context.Background()
	key := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	rate := limiter.Rate{Period: 400 * time.Millisecond, Limit: 3}
	for i := int64(1); i <= 4; i++ {
		lc, err := s.Get(ctx, key, rate)
		if err != nil {
			t.Fatal(err)
		}
		if lc.Reached != (i > 3) || lc.Remaining != max(3-i, 0) {
			t.Fatalf("hit %d: %+v", i, lc)
		}
	}
	if v, err := s.c.Do(ctx, "GET", "gatehouse-test:"+key); err != nil || v != "4" {
		t.Fatalf("GET gatehouse-test:%s = %v, %v; want 4", key, v, err)
	}
	if ttl, err := s.c.Do(ctx, "PTTL", "gatehouse-test:"+key); err != nil || ttl.(int64) <= 0 || ttl.(int64) > 400 {
		t.Fatalf("PTTL = %v, %v; want within the 400ms window", ttl, err)
	}
	if lc, err := s.Peek(ctx, key, rate); err != nil || !lc.Reached {
		t.Fatalf("Peek = %+v, %v", lc, err)
	}
	if lc, err := s.Increment(ctx, key, 2, rate); err != nil || lc.Remaining != 0 {
		t.Fatalf("Increment by 2 = %+v, %v", lc, err)
	}
	time.Sleep(500 * time.Millisecond)
	if lc, err := s.Get(ctx, key, rate); err != nil || lc.Reached || lc.Remaining != 2 {
		t.Fatalf("first hit of the next window = %+v, %v", lc, err)
	}
	if lc, err := s.Reset(ctx, key, rate); err != nil || lc.Remaining != 3 {
		t.Fatalf("Reset = %+v, %v", lc, err)
	}
	if lc, err := s.Peek(ctx, key, rate); err != nil || lc.Remaining != 3 {
		t.Fatalf("Peek after Reset = %+v, %v", lc, err)
	}
}

// A flushed script cache (a restarted server) costs one EVAL, not an error.
func TestRedisScriptFlush(t *testing.T) {
	s, _ := realRedis(t)
	ctx := context.Background()
	if _, err := s.c.Do(ctx, "SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, t.Name(), limiter.Rate{Period: time.Second, Limit: 5}); err != nil {
		t.Fatalf("Get after SCRIPT FLUSH: %v", err)
	}
	if v, err := s.c.Do(ctx, "SCRIPT", "EXISTS", incr.sha); err != nil || fmt.Sprint(v) != "[1]" {
		t.Fatalf("the script is not cached again: %v, %v", v, err)
	}
}

// An ACL user with a password signs in; a wrong password fails at start.
func TestRedisACLUser(t *testing.T) {
	s, opt := realRedis(t)
	ctx := context.Background()
	user := fmt.Sprintf("gatehouse-test-%d", time.Now().UnixNano())
	if _, err := s.c.Do(ctx, "ACL", "SETUSER", user, "on", ">right-password", "~gatehouse-test:*", "+@all"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.c.Do(context.Background(), "ACL", "DELUSER", user) })
	opt.Username, opt.Password = user, "right-password"
	u, err := New(ctx, opt, "gatehouse-test")
	if err != nil {
		t.Fatalf("ACL user: %v", err)
	}
	defer u.Close()
	if _, err := u.Get(ctx, t.Name(), limiter.Rate{Period: time.Second, Limit: 5}); err != nil {
		t.Fatal(err)
	}
	opt.Password = "wrong-password"
	if _, err := New(ctx, opt, "gatehouse-test"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
}
