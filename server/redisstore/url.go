package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options say how to reach the server.
type Options struct {
	Network  string // "tcp" or "unix"
	Addr     string // host:port, or the socket path
	Username string // Redis 6 ACL user; empty for the default user
	Password string // AUTH is sent only when set
	DB       int    // SELECTed on every new connection when not 0
	// ClientName is set with CLIENT SETNAME on every new connection.
	ClientName string
	// TLS, when set, wraps every connection (rediss://).
	TLS *tls.Config
	// Timeouts; 0 picks the default, a negative value means none.
	DialTimeout  time.Duration // default 5s
	ReadTimeout  time.Duration // default 3s
	WriteTimeout time.Duration // default ReadTimeout
	// PoolSize caps the open connections (default 10 per CPU); a caller
	// waits up to PoolTimeout (default ReadTimeout + 1s) for one.
	PoolSize    int
	PoolTimeout time.Duration
	// ConnMaxIdleTime closes connections idle for longer (default 30 min).
	ConnMaxIdleTime time.Duration
}

// ParseURL reads the URL forms go-redis accepts, which is what Gatehouse
// documented before it spoke RESP itself:
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]
//	rediss://... (TLS; ?skip_verify=true to accept any certificate)
//	unix://[[user]:password@]/path/to/socket[?db=N...]
//
// Options: db, client_name, dial_timeout, read_timeout, write_timeout,
// pool_size, pool_timeout, conn_max_idle_time (or idle_timeout) and
// skip_verify. Durations are seconds or Go durations; 0 or less means no
// timeout. Any other option is an error rather than silently ignored.
func ParseURL(s string) (Options, error) {
	var o Options
	u, err := url.Parse(s)
	if err != nil {
		return o, fmt.Errorf("redis URL: %w", err)
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	switch u.Scheme {
	case "redis", "rediss":
		o.Network = "tcp"
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		o.Addr = net.JoinHostPort(host, port)
		switch f := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' }); len(f) {
		case 0:
		case 1:
			if o.DB, err = strconv.Atoi(f[0]); err != nil || o.DB < 0 {
				return o, fmt.Errorf("redis URL: invalid database number %q", f[0])
			}
		default:
			return o, fmt.Errorf("redis URL: invalid path %q", u.Path)
		}
		if u.Scheme == "rediss" {
			o.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "unix":
		if strings.TrimSpace(u.Path) == "" {
			return o, errors.New("redis URL: empty unix socket path")
		}
		o.Network, o.Addr = "unix", u.Path
	default:
		return o, fmt.Errorf("redis URL: scheme %q is not redis, rediss or unix", u.Scheme)
	}

	q := u.Query()
	take := func(name string) (string, bool) {
		vs, ok := q[name]
		delete(q, name)
		if !ok || len(vs) == 0 {
			return "", false
		}
		return vs[len(vs)-1], true
	}
	var errs []error
	duration := func(name string, dst *time.Duration) {
		v, ok := take(name)
		if !ok {
			return
		}
		if n, err := strconv.Atoi(v); err == nil {
			*dst = time.Duration(n) * time.Second
		} else if d, err := time.ParseDuration(v); err == nil {
			*dst = d
		} else {
			errs = append(errs, fmt.Errorf("redis URL: invalid %s %q", name, v))
			return
		}
		if *dst <= 0 {
			*dst = -1
		}
	}
	integer := func(name string, dst *int) {
		if v, ok := take(name); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("redis URL: invalid %s %q", name, v))
				return
			}
			*dst = n
		}
	}
	integer("db", &o.DB)
	integer("pool_size", &o.PoolSize)
	o.ClientName, _ = take("client_name")
	duration("dial_timeout", &o.DialTimeout)
	duration("read_timeout", &o.ReadTimeout)
	duration("write_timeout", &o.WriteTimeout)
	duration("pool_timeout", &o.PoolTimeout)
	if _, ok := q["conn_max_idle_time"]; ok {
		duration("conn_max_idle_time", &o.ConnMaxIdleTime)
		delete(q, "idle_timeout")
	} else {
		duration("idle_timeout", &o.ConnMaxIdleTime)
	}
	if v, ok := take("skip_verify"); ok {
		skip, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("redis URL: invalid skip_verify %q", v))
		case o.TLS == nil:
			errs = append(errs, errors.New("redis URL: skip_verify needs rediss://"))
		default:
			o.TLS.InsecureSkipVerify = skip
		}
	}
	if len(q) > 0 {
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		slices.Sort(names)
		errs = append(errs, fmt.Errorf("redis URL: unsupported option %s", strings.Join(names, ", ")))
	}
	return o, errors.Join(errs...)
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults(cpus int) Options {
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 3 * time.Second
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = o.ReadTimeout
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 10 * cpus
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = time.Second
		if o.ReadTimeout > 0 {
			o.PoolTimeout += o.ReadTimeout
		}
	}
	if o.ConnMaxIdleTime == 0 {
		o.ConnMaxIdleTime = 30 * time.Minute
	}
	return o
}
