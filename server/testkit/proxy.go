package testkit

import (
	"io"
	"net"
	"sync"
	"testing"
)

// TCPProxy forwards connections to a server (PostgreSQL, Redis) and can be
// cut and restored, so a test can take the database away from a running
// Gatehouse without stopping the shared server.
type TCPProxy struct {
	Addr   string // the proxy's address, host:port
	target string
	ln     net.Listener

	mu    sync.Mutex
	cut   bool
	hang  bool
	conns map[net.Conn]struct{}
}

// NewTCPProxy listens on a free local port and forwards to target.
func NewTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &TCPProxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.serve()
	return p
}

func (p *TCPProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut, hang := p.cut, p.hang
		if hang {
			// Accepted and never answered: a server that hangs.
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		if !hang {
			go p.forward(c)
		}
	}
}

func (p *TCPProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }() //nolint:errcheck
	go func() { io.Copy(c, up); done <- struct{}{} }() //nolint:errcheck
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Cut closes every forwarded connection and refuses new ones (they are
// accepted and closed at once, as a server that went away mid-restart).
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
}

// Hang closes every forwarded connection and then accepts new ones but
// never answers them, as a server that stopped (SIGSTOP) or a network that
// drops packets after the handshake.
func (p *TCPProxy) Hang() {
	p.mu.Lock()
	p.hang = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
}

// Restore forwards new connections again (held ones of Hang are closed).
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	if p.hang {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
	p.cut, p.hang = false, false
	p.mu.Unlock()
}
