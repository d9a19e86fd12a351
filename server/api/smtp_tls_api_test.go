package api_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"gatehouse/server/mail/mailsink"
	"gatehouse/server/testkit"
)

// privateCASMTP is an SMTP server offering STARTTLS with a certificate for
// 127.0.0.1 signed by a private CA (returned as PEM); it accepts the
// password "right" only and counts the messages it takes.
func privateCASMTP(t *testing.T) (caPEM string, port int, delivered func() int) {
	t.Helper()
	caPEM, cert, err := mailsink.PrivateCA()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &caBackend{}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	return caPEM, ln.Addr().(*net.TCPAddr).Port,
		func() int { b.mu.Lock(); defer b.mu.Unlock(); return b.n }
}

type caBackend struct {
	mu sync.Mutex
	n  int
}

func (b *caBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return caSession{b}, nil }

type caSession struct{ b *caBackend }

func (caSession) AuthMechanisms() []string { return []string{"PLAIN"} }
func (caSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, password string) error {
		if password != "right" {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (caSession) Reset()                               {}
func (caSession) Logout() error                        { return nil }
func (caSession) Mail(string, *smtp.MailOptions) error { return nil }
func (caSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s caSession) Data(r io.Reader) error {
	_, _ = io.ReadAll(r)
	s.b.mu.Lock()
	s.b.n++
	s.b.mu.Unlock()
	return nil
}

// The CA certificate saved in the email settings is the one a real send
// trusts (issue 14 item 5), and the API's test email tells the failure
// classes apart: without the CA the reason is "certificate"; with it the
// email goes out, both as a test email and through the outbox (a reset
// link); with a wrong password the reason is "auth_failed".
func TestSMTPTLS_SettingsCAReachesARealSendAndAPIReasons(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	caPEM, port, delivered := privateCASMTP(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	app.Member("alice")
	put := func(change map[string]any) {
		t.Helper()
		cur := rc.GET("/api/admin/settings/email").Expect(200).Map()
		delete(cur, "passwordSet")
		for k, v := range change {
			cur[k] = v
		}
		rc.PUT("/api/admin/settings/email", cur).Expect(200)
	}
	testMail := func(wantReason string) {
		t.Helper()
		r := rc.POST("/api/admin/settings/email/test", map[string]string{"to": "x@example.com"})
		if wantReason == "" {
			r.Expect(200)
			return
		}
		expectError(t, r, 422, "smtp_failed")
		if got := r.Map()["error"].(map[string]any)["reason"]; got != wantReason {
			t.Fatalf("reason %v, want %s (%s)", got, wantReason, r.Body)
		}
	}
	put(map[string]any{"host": "127.0.0.1", "port": port, "tlsMode": "starttls", "username": "gatehouse", "password": "right",
		"senderAddress": "noreply@gatehouse.test", "caCertificate": ""})
	testMail("certificate")
	if n := delivered(); n != 0 {
		t.Fatalf("%d messages reached the server over an untrusted certificate", n)
	}

	put(map[string]any{"caCertificate": caPEM})
	testMail("")
	if n := delivered(); n != 1 {
		t.Fatalf("%d messages after the test email with the CA; want 1", n)
	}
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	app.SendDueMail()
	if n := delivered(); n != 2 {
		t.Fatalf("%d messages after a reset email through the outbox; want 2", n)
	}

	put(map[string]any{"password": "wrong"})
	testMail("auth_failed")
}
