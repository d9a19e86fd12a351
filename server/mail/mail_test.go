package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"gatehouse/server/mail/mailsink"
)

// testCA is a private certificate authority and a server certificate it
// signed for 127.0.0.1.
type testCA struct {
	pem    string
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caPEM, server, err := mailsink.PrivateCA()
	if err != nil {
		t.Fatal(err)
	}
	return testCA{pem: caPEM, server: server}
}

// tlsServer is an SMTP server offering STARTTLS with ca's certificate that
// accepts the password "right" only.
func tlsServer(t *testing.T, ca testCA) (string, int, *[]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	srv := smtp.NewServer(backend{got: &got})
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.server}}
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", addr.Port, &got
}

type backend struct{ got *[]string }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct{ b backend }

func (s *session) AuthMechanisms() []string { return []string{"PLAIN"} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, password string) error {
		if password != "right" {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	*s.b.got = append(*s.b.got, string(b))
	return nil
}

func reason(err error) string {
	var se *SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "not a SendError: " + err.Error()
}

// A private CA given in the settings is trusted for STARTTLS; without it
// the failure is named a certificate problem (it read "refused the
// sign-in"), a wrong password an authentication failure, and a closed
// port a connection failure.
func TestSMTPTLS_CAAndFailureClasses(t *testing.T) {
	ca := newTestCA(t)
	host, port, got := tlsServer(t, ca)
	cfg := SMTP{Host: host, Port: port, TLSMode: "starttls", SenderAddress: "noreply@example.org", Username: "gatehouse", Password: "right"}
	msg := Message{To: "someone@example.org", Subject: "hello", Text: "hi"}
	ctx := context.Background()

	err := Send(ctx, cfg, msg)
	if reason(err) != Certificate {
		t.Errorf("unknown CA: reason %q (%v); want %q", reason(err), err, Certificate)
	} else if m := err.(*SendError).Message(); !strings.Contains(m, "certificate") || strings.Contains(m, "sign-in") {
		t.Errorf("unknown CA: message %q", m)
	}

	cfg.CACertificate = ca.pem
	if err := Send(ctx, cfg, msg); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if len(*got) != 1 {
		t.Fatalf("server received %d messages", len(*got))
	}

	cfg.Password = "wrong"
	if err := Send(ctx, cfg, msg); reason(err) != AuthFailed {
		t.Errorf("wrong password: reason %q (%v); want %q", reason(err), err, AuthFailed)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := Send(ctx, cfg, msg); reason(err) != "unreachable" {
		t.Errorf("closed port: reason %q (%v); want unreachable", reason(err), err)
	}
}

// RFC 5322 msg-id with a dot-atom left part and a dot-atom or
// no-fold-literal right part.
var (
	atext     = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
	dotAtom   = atext + "+(?:\\." + atext + "+)*"
	msgIDSpec = regexp.MustCompile(`^<` + dotAtom + `@(?:` + dotAtom + `|\[[\x21-\x5a\x5e-\x7e]*\])>$`)
)

// Every Message-ID is valid RFC 5322 and names the sender's domain, not
// the host name (go-mail's own IDs put a dot first, last or twice in about
// 2 in 100).
func TestSMTPMessageID_SyntaxAndSenderDomain(t *testing.T) {
	cfg := SMTP{Host: "127.0.0.1", Port: 25, SenderAddress: "noreply@Mail.Example.org", SenderName: "Gatehouse"}
	bad := 0
	var example string
	for range 5000 {
		m, err := newMsg(cfg, Message{To: "a@example.org", Subject: "s", Text: "t"})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatal(err)
		}
		id := parsed.Header.Get("Message-Id")
		if !msgIDSpec.MatchString(id) || !strings.HasSuffix(id, "@mail.example.org>") {
			bad++
			example = id
		}
	}
	if bad > 0 {
		t.Errorf("%d of 5000 Message-IDs malformed or not at the sender's domain, e.g. %q", bad, example)
	}
}
