// Package mailsink is an in-process SMTP server that keeps every message it
// receives in memory. Tests and the end-to-end run use it in place of a real
// mail server; it is never part of a serving Gatehouse.
package mailsink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received email.
type Message struct {
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	At      time.Time `json:"at"`
}

// Sink is a running SMTP server on loopback.
type Sink struct {
	Addr string // host:port
	srv  *smtp.Server

	mu       sync.Mutex
	messages []Message
	logins   []Login
	notify   chan struct{}
	ln       *downListener
}

// Login is one AUTH PLAIN the server accepted (every one is accepted):
// tests check which credentials reached which server.
type Login struct {
	Username, Password string
}

// Logins returns a copy of every AUTH received.
func (s *Sink) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Start listens on 127.0.0.1 (port 0 picks a free one).
func Start(addr string) (*Sink, error) { return StartTLS(addr, nil) }

// StartTLS is Start with STARTTLS offered under cfg's certificate (nil:
// plain SMTP only), for tests of mail servers whose certificate comes from
// a private certificate authority.
func StartTLS(addr string, cfg *tls.Config) (*Sink, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ln := &downListener{Listener: inner}
	s := &Sink{Addr: inner.Addr().String(), notify: make(chan struct{}), ln: ln}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ErrorLog = nopLogger{}
	s.srv.TLSConfig = cfg
	go s.srv.Serve(ln) //nolint:errcheck
	return s, nil
}

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// SetDown makes the server unreachable (true) or reachable again (false)
// while it keeps its port: a down sink closes every connection before the
// greeting, as a crashed mail server behind a live port does. Tests use
// this rather than Close and a new Start on the same address, because
// another test process may take the port in between.
func (s *Sink) SetDown(down bool) { s.ln.down.Store(down) }

// downListener drops accepted connections while down is set.
type downListener struct {
	net.Listener
	down atomic.Bool
}

func (l *downListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.down.Load() {
			return c, err
		}
		c.Close()
	}
}

// Host and Port split Addr.
func (s *Sink) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port is the listening port.
func (s *Sink) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

// Messages returns a copy of everything received.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor waits until a message to `to` whose subject contains subject
// (empty matches any) arrives, and returns the newest such message.
func (s *Sink) WaitFor(ctx context.Context, to, subject string) (Message, bool) {
	for {
		s.mu.Lock()
		for i := len(s.messages) - 1; i >= 0; i-- {
			m := s.messages[i]
			if contains(m.To, to) && strings.Contains(m.Subject, subject) {
				s.mu.Unlock()
				return m, true
			}
		}
		wait := s.notify
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Message{}, false
		case <-wait:
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	s.messages = append(s.messages, m)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// Handler serves the received messages as JSON (GET, optional ?to=).
func (s *Sink) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := []Message{}
		for _, m := range s.Messages() {
			if to := r.URL.Query().Get("to"); to == "" || contains(m.To, to) {
				out = append(out, m)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

type backend struct{ s *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string { return []string{"PLAIN"} }
func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		x.s.mu.Lock()
		x.s.logins = append(x.s.logins, Login{Username: username, Password: password})
		x.s.mu.Unlock()
		return nil
	}), nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

// Rcpt accepts every recipient but those whose local part starts with
// "bounce-": they are refused for good (550), for tests of failed mail.
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(strings.ToLower(to), "bounce-") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	m := Message{From: x.from, To: x.to, Subject: subject, At: time.Now()}
	m.Text, m.HTML = bodies(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	x.s.add(m)
	return nil
}

func bodies(contentType, encoding string, body io.Reader) (text, html string) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			t, h := bodies(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if t != "" {
				text = t
			}
			if h != "" {
				html = h
			}
		}
	}
	data, _ := io.ReadAll(decodeTransfer(encoding, body))
	if mt == "text/html" {
		return "", string(data)
	}
	return string(data), ""
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}
