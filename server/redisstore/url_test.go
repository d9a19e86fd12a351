package redisstore

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url   string
		check func(Options) bool
		err   string
	}{
		{url: "redis://localhost", check: func(o Options) bool {
			return o.Network == "tcp" && o.Addr == "localhost:6379" && o.DB == 0 && o.TLS == nil && o.Password == ""
		}},
		{url: "redis://", check: func(o Options) bool { return o.Addr == "localhost:6379" }},
		{url: "redis://:s3cret@10.0.0.5:6380/4", check: func(o Options) bool {
			return o.Addr == "10.0.0.5:6380" && o.Username == "" && o.Password == "s3cret" && o.DB == 4
		}},
		{url: "redis://gate:p%40ss@[::1]:7000/0", check: func(o Options) bool {
			return o.Addr == "[::1]:7000" && o.Username == "gate" && o.Password == "p@ss"
		}},
		{url: "rediss://cache.example.com/2?skip_verify=true", check: func(o Options) bool {
			return o.Addr == "cache.example.com:6379" && o.DB == 2 && o.TLS != nil &&
				o.TLS.ServerName == "cache.example.com" && o.TLS.InsecureSkipVerify
		}},
		{url: "rediss://cache.example.com", check: func(o Options) bool { return o.TLS != nil && !o.TLS.InsecureSkipVerify }},
		{url: "unix:///run/redis.sock?db=3", check: func(o Options) bool {
			return o.Network == "unix" && o.Addr == "/run/redis.sock" && o.DB == 3
		}},
		{url: "redis://h?dial_timeout=2&read_timeout=500ms&write_timeout=0&pool_size=4&pool_timeout=3s&idle_timeout=1m&client_name=gh", check: func(o Options) bool {
			return o.DialTimeout == 2*time.Second && o.ReadTimeout == 500*time.Millisecond && o.WriteTimeout == -1 &&
				o.PoolSize == 4 && o.PoolTimeout == 3*time.Second && o.ConnMaxIdleTime == time.Minute && o.ClientName == "gh"
		}},
		{url: "redis://h?conn_max_idle_time=2m&idle_timeout=1m", check: func(o Options) bool { return o.ConnMaxIdleTime == 2*time.Minute }},
		{url: "http://localhost", err: "scheme"},
		{url: "redis://h/x", err: "database number"},
		{url: "redis://h/1/2", err: "invalid path"},
		{url: "unix://", err: "empty unix socket path"},
		{url: "redis://h?read_timeout=soon", err: "invalid read_timeout"},
		{url: "redis://h?pool_size=-1", err: "invalid pool_size"},
		{url: "redis://h?skip_verify=true", err: "needs rediss"},
		{url: "redis://h?protocol=3&max_retries=2", err: "unsupported option max_retries, protocol"},
	} {
		o, err := ParseURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) error %v, want one with %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || !tc.check(o) {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.url, o, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	o := Options{}.withDefaults(2)
	if o.DialTimeout != 5*time.Second || o.ReadTimeout != 3*time.Second || o.WriteTimeout != 3*time.Second ||
		o.PoolSize != 20 || o.PoolTimeout != 4*time.Second || o.ConnMaxIdleTime != 30*time.Minute {
		t.Fatalf("defaults %+v", o)
	}
	o = Options{ReadTimeout: -1, WriteTimeout: -1, PoolSize: 3}.withDefaults(2)
	if o.ReadTimeout != -1 || o.WriteTimeout != -1 || o.PoolSize != 3 || o.PoolTimeout != time.Second {
		t.Fatalf("defaults with no read timeout %+v", o)
	}
}
