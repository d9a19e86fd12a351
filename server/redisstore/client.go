package redisstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// ErrPoolTimeout means every connection stayed busy for PoolTimeout.
var ErrPoolTimeout = errors.New("redis: connection pool timeout")

// ErrClosed is returned by a client after Close.
var ErrClosed = errors.New("redis: client closed")

// client is a pool of connections to one server, each used by one command
// at a time.
type client struct {
	opt   Options
	slots chan struct{} // one token per open or opening connection

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

type conn struct {
	nc       net.Conn
	r        *bufio.Reader
	buf      []byte
	lastUsed time.Time
}

func newClient(opt Options) *client {
	opt = opt.withDefaults(runtime.GOMAXPROCS(0))
	return &client{opt: opt, slots: make(chan struct{}, opt.PoolSize)}
}

// Do sends one command and returns its reply. An error reply comes back as
// an Error. A connection that was lying idle and turns out dead (the server
// closed it) is replaced once, transparently.
func (c *client) Do(ctx context.Context, args ...string) (any, error) {
	for attempt := 0; ; attempt++ {
		cn, reused, err := c.get(ctx)
		if err != nil {
			return nil, err
		}
		v, err := cn.roundTrip(ctx, c.opt, args)
		var rerr Error
		if err == nil || errors.As(err, &rerr) {
			c.put(cn, true)
			return v, err
		}
		c.put(cn, false)
		// Only a pooled connection failing at once is taken for one the
		// server closed meanwhile; a timeout is a slow server, and sending
		// the command again could count a hit twice.
		var ne net.Error
		if !reused || attempt > 0 || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, err
		}
	}
}

// Close closes the idle connections; connections in use close when
// they come back.
func (c *client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
	return nil
}

// get takes a pooled connection or dials a new one; reused tells which.
func (c *client) get(ctx context.Context) (*conn, bool, error) {
	select {
	case c.slots <- struct{}{}:
	default:
		t := time.NewTimer(c.opt.PoolTimeout)
		if c.opt.PoolTimeout < 0 {
			t.Stop()
		}
		select {
		case c.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, false, ErrPoolTimeout
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		}
	}
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.slots
		return nil, false, ErrClosed
	}
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if c.opt.ConnMaxIdleTime > 0 && now.Sub(cn.lastUsed) > c.opt.ConnMaxIdleTime {
			cn.nc.Close()
			continue
		}
		c.mu.Unlock()
		return cn, true, nil
	}
	c.mu.Unlock()
	cn, err := c.dial(ctx)
	if err != nil {
		<-c.slots
		return nil, false, err
	}
	return cn, false, nil
}

// put returns cn to the pool, or closes it when it is not reusable.
func (c *client) put(cn *conn, reusable bool) {
	defer func() { <-c.slots }()
	c.mu.Lock()
	if reusable && !c.closed {
		cn.lastUsed = time.Now()
		c.idle = append(c.idle, cn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	cn.nc.Close()
}

// dial opens a connection and prepares it: TLS, AUTH, SELECT, CLIENT SETNAME.
func (c *client) dial(ctx context.Context) (*conn, error) {
	if c.opt.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opt.DialTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, c.opt.Network, c.opt.Addr)
	if err != nil {
		return nil, err
	}
	if c.opt.TLS != nil {
		tc := tls.Client(nc, c.opt.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	cn := &conn{nc: nc, r: bufio.NewReaderSize(nc, 512)}
	var setup [][]string
	if c.opt.Password != "" {
		if c.opt.Username != "" {
			setup = append(setup, []string{"AUTH", c.opt.Username, c.opt.Password})
		} else {
			setup = append(setup, []string{"AUTH", c.opt.Password})
		}
	}
	if c.opt.DB != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(c.opt.DB)})
	}
	if c.opt.ClientName != "" {
		setup = append(setup, []string{"CLIENT", "SETNAME", c.opt.ClientName})
	}
	for _, args := range setup {
		if _, err := cn.roundTrip(ctx, c.opt, args); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return cn, nil
}

// roundTrip writes one command and reads its reply, within the read and
// write timeouts and the context's deadline.
func (cn *conn) roundTrip(ctx context.Context, opt Options, args []string) (any, error) {
	cn.buf = appendCommand(cn.buf[:0], args...)
	if err := cn.nc.SetWriteDeadline(deadline(ctx, opt.WriteTimeout)); err != nil {
		return nil, err
	}
	if _, err := cn.nc.Write(cn.buf); err != nil {
		return nil, err
	}
	if err := cn.nc.SetReadDeadline(deadline(ctx, opt.ReadTimeout)); err != nil {
		return nil, err
	}
	return readReply(cn.r)
}

// deadline is now+timeout or the context's deadline, whichever is first;
// the zero time (none) when neither applies.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	var t time.Time
	if timeout > 0 {
		t = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (t.IsZero() || d.Before(t)) {
		t = d
	}
	return t
}
