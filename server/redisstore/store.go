// Package redisstore is a ulule/limiter store on Redis, so that several
// Gatehouse instances share their rate-limit counters. It speaks RESP
// itself, over a small pool of plain, TLS or unix-socket connections,
// instead of going through go-redis: that client (with its cluster,
// pipelining and every command as a method) made up about a fifth of the
// gatehouse binary for the one script this store runs.
//
// The scripts, the key layout (prefix ":" key) and the answers are those of
// ulule's own Redis store, so instances running either share counters.
package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"
)

// The scripts of github.com/ulule/limiter/v3/drivers/store/redis, verbatim.
const (
	incrScript = `
local key = KEYS[1]
local count = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local ret = redis.call("incrby", key, ARGV[1])
if ret == count then
	if ttl > 0 then
		redis.call("pexpire", key, ARGV[2])
	end
	return {ret, ttl}
end
ttl = redis.call("pttl", key)
return {ret, ttl}
`
	peekScript = `
local key = KEYS[1]
local v = redis.call("get", key)
if v == false then
	return {0, 0}
end
local ttl = redis.call("pttl", key)
return {tonumber(v), ttl}
`
)

type script struct{ src, sha string }

func newScript(src string) script {
	sum := sha1.Sum([]byte(src))
	return script{src: src, sha: hex.EncodeToString(sum[:])}
}

var (
	incr = newScript(incrScript)
	peek = newScript(peekScript)
)

// Store keeps limiter counters in Redis.
type Store struct {
	prefix string
	c      *client
}

var _ limiter.Store = (*Store)(nil)

// New connects to the server and loads the scripts, so that a wrong
// address, password or database shows at start rather than on the first
// request.
func New(ctx context.Context, opt Options, prefix string) (*Store, error) {
	s := &Store{prefix: prefix, c: newClient(opt)}
	for _, sc := range []script{incr, peek} {
		v, err := s.c.Do(ctx, "SCRIPT", "LOAD", sc.src)
		if err != nil {
			s.c.Close()
			return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
		}
		if v != sc.sha {
			s.c.Close()
			return nil, fmt.Errorf("redis %s: SCRIPT LOAD answered %v, want %s", opt.Addr, v, sc.sha)
		}
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.c.Close() }

// Get counts one hit on key and returns the state after it.
func (s *Store) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.Increment(ctx, key, 1, rate)
}

// Increment counts count hits on key and returns the state after them.
func (s *Store) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	n, ttl, err := s.eval(ctx, incr, s.key(key), strconv.FormatInt(count, 10), strconv.FormatInt(rate.Period.Milliseconds(), 10))
	if err != nil {
		return limiter.Context{}, err
	}
	return state(rate, n, ttl), nil
}

// Peek returns the state of key without counting a hit.
func (s *Store) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	n, ttl, err := s.eval(ctx, peek, s.key(key))
	if err != nil {
		return limiter.Context{}, err
	}
	return state(rate, n, ttl), nil
}

// Reset forgets the hits on key.
func (s *Store) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	if _, err := s.c.Do(ctx, "DEL", s.key(key)); err != nil {
		return limiter.Context{}, err
	}
	return state(rate, 0, 0), nil
}

func (s *Store) key(k string) string { return s.prefix + ":" + k }

// eval runs sc on key by its SHA, sending the source once when the server
// does not know it (restarted, or SCRIPT FLUSH), and returns the two
// integers the scripts answer: the count and the key's time to live in ms.
func (s *Store) eval(ctx context.Context, sc script, key string, args ...string) (int64, int64, error) {
	cmd := append([]string{"EVALSHA", sc.sha, "1", key}, args...)
	v, err := s.c.Do(ctx, cmd...)
	var rerr Error
	if errors.As(err, &rerr) && strings.HasPrefix(string(rerr), "NOSCRIPT") {
		cmd[0], cmd[1] = "EVAL", sc.src
		v, err = s.c.Do(ctx, cmd...)
	}
	if err != nil {
		return 0, 0, err
	}
	fields, ok := v.([]any)
	if !ok || len(fields) != 2 {
		return 0, 0, fmt.Errorf("redis: script answered %v, want two integers", v)
	}
	n, ok1 := fields[0].(int64)
	ttl, ok2 := fields[1].(int64)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("redis: script answered %v, want two integers", v)
	}
	return n, ttl, nil
}

// state is the limiter's view of count hits with ttl ms left in the window
// (the window starts now when the key has no expiry).
func state(rate limiter.Rate, count, ttl int64) limiter.Context {
	now := time.Now()
	expiration := now.Add(rate.Period)
	if ttl > 0 {
		expiration = now.Add(time.Duration(ttl) * time.Millisecond)
	}
	return common.GetContextFromState(now, rate, expiration, count)
}
