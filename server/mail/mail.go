// Package mail sends Gatehouse's emails over SMTP and renders their
// templates (plain text and HTML, English and Simplified Chinese).
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	gomail "github.com/wneessen/go-mail"

	"gatehouse/server/outbound"
)

// SMTP is a ready-to-use SMTP configuration (password already decrypted).
type SMTP struct {
	Host, Username, Password, SenderName, SenderAddress string
	Port                                                int
	TLSMode                                             string // none, starttls, tls
	// CACertificate, when set, is the PEM certificates trusted for the
	// server's certificate instead of the system's.
	CACertificate string
}

// Message is one email.
type Message struct {
	To, Subject, Text, HTML string
}

// SMTP failure classes beyond the outbound ones (unreachable, timeout,
// tls).
const (
	NotConfigured = "not_configured"
	AuthFailed    = "auth_failed"
	Rejected      = "rejected"
	Certificate   = "certificate"
)

// SendError is a failed delivery: Reason is its class, Message the fixed
// words for it. What the SMTP server said stays in the wrapped error, for
// the server log only, and never holds the password.
type SendError struct {
	Reason string
	// Permanent is an answer that trying again will not change: the
	// server refused the sender, the recipient or the message with a 5xx
	// reply (or the address cannot be written). Every other failure
	// (connection, timeout, TLS, sign-in, configuration, 4xx) is
	// temporary: the mail server or its settings may be fixed.
	Permanent bool
	err       error
}

func (e *SendError) Error() string {
	if e.err != nil {
		return "sending email failed: " + e.Reason + ": " + e.err.Error()
	}
	return "sending email failed: " + e.Reason
}

// Unwrap gives the underlying error.
func (e *SendError) Unwrap() error { return e.err }

// Message is the fixed, safe explanation of the failure.
func (e *SendError) Message() string {
	switch e.Reason {
	case NotConfigured:
		return "SMTP is not configured: set a host, a port and a valid sender address."
	case AuthFailed:
		return "The SMTP server refused the sign-in. Check the username and password."
	case Rejected:
		return "The SMTP server did not accept the message (sender or recipient refused)."
	case outbound.TLS:
		return "A secure (TLS) connection to the SMTP server could not be made. Check the TLS mode and port."
	case "unreadable":
		return "The stored message cannot be opened with this server's secret key (was the key rotated?); an instance with the current key will send it."
	case Certificate:
		return "The SMTP server's certificate is not trusted (unknown or private certificate authority, expired, or issued for another name). Add its CA certificate in the email settings, or check the host name."
	case outbound.Unreachable:
		return "The SMTP server could not be reached. Check the host, the port and that it is running."
	case outbound.Timeout:
		return "The SMTP server did not answer in time."
	}
	return outbound.Message(e.Reason)
}

// AttemptTimeout bounds one delivery attempt as a whole: connecting, the
// greeting, TLS, sign-in and the message, however the server spreads its
// answers over the steps (each step has outbound.SMTPTimeout). When it
// runs out the connection is closed and the attempt is a temporary
// "timeout" failure, retried later.
const AttemptTimeout = 3 * outbound.SMTPTimeout

// The timeouts Send uses (tests shorten them).
var (
	stepTimeout    = outbound.SMTPTimeout
	attemptTimeout = AttemptTimeout
)

// conns is the connections an attempt opened; closeAll closes them, and
// every one opened after it is closed at once.
type conns struct {
	mu     sync.Mutex
	open   []net.Conn
	closed bool
}

func (s *conns) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.open = append(s.open, c)
	return true
}

func (s *conns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.open {
		_ = c.Close() // closed already after a QUIT: nothing to report
	}
	s.open = nil
}

// Send delivers msg through cfg with the outbound timeouts. A failure is a
// *SendError.
//
// The attempt is bounded as a whole (AttemptTimeout), not only its dial:
// go-mail (v0.8.1) bounds each step but renews the deadline at every one,
// watches the context only while dialing, and leaves the socket open when
// the greeting or a later step of its dial fails. Send therefore dials the
// connection itself (WithDialContextFunc, with the TLS handshake of the
// "tls" mode), closes it when the attempt's time runs out (which ends any
// read or write at once), and closes it again after every attempt, so
// that no socket outlives its attempt.
func Send(ctx context.Context, cfg SMTP, msg Message) error {
	if cfg.Host == "" || cfg.SenderAddress == "" {
		return &SendError{Reason: NotConfigured}
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(stepTimeout)}
	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CACertificate != "" {
		pool, err := CertPool(cfg.CACertificate)
		if err != nil {
			return &SendError{Reason: NotConfigured, err: err}
		}
		tlsConfig.RootCAs = pool
	}
	held := &conns{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if !held.add(c) {
			return nil, context.DeadlineExceeded
		}
		if cfg.TLSMode != "tls" {
			return c, nil
		}
		tc := tls.Client(c, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err // c is closed with the attempt
		}
		return tc, nil
	}
	opts = append(opts, gomail.WithDialContextFunc(dial))
	switch cfg.TLSMode {
	case "tls":
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tlsConfig))
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tlsConfig))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if cfg.TLSMode == "none" {
			// The administrator chose an unencrypted connection.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return &SendError{Reason: NotConfigured, err: err}
	}
	m, err := newMsg(cfg, msg)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	stop := context.AfterFunc(actx, held.closeAll)
	err = client.DialAndSendWithContext(actx, m)
	stop()
	held.closeAll()
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			// The attempt's time ran out (its connection was closed
			// under it): whatever the step reported, a timeout.
			return &SendError{Reason: outbound.Timeout, err: classify(cfg, err).err}
		}
		return classify(cfg, err)
	}
	return nil
}

// newMsg builds the message.
func newMsg(cfg SMTP, msg Message) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.FromFormat(cfg.SenderName, cfg.SenderAddress); err != nil {
		return nil, &SendError{Reason: NotConfigured, err: err}
	}
	if err := m.To(msg.To); err != nil {
		return nil, &SendError{Reason: Rejected, Permanent: true, err: err}
	}
	m.SetMessageIDWithValue(MessageID(cfg.SenderAddress))
	m.Subject(msg.Subject)
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return m, nil
}

// CertPool reads PEM certificates (an SMTP server's private CA); anything
// else in the text, or no certificate at all, is an error.
func CertPool(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(pemText)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM block of type %q; only CERTIFICATE blocks belong here", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("text outside the PEM certificate blocks")
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return pool, nil
}

// MessageID is a new Message-ID at the sender address's domain: 128
// random bits in hex, so that it is always a valid RFC 5322 dot-atom (the
// library's own IDs named the host and, in about 2 of 100, began, ended
// or doubled a dot).
func MessageID(sender string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(sender, '@'); at >= 0 && at < len(sender)-1 {
		domain = strings.ToLower(sender[at+1:])
	}
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + domain
}

// classify sorts a delivery failure into a class; the password is masked
// in the kept error text.
func classify(cfg SMTP, err error) *SendError {
	msg := err.Error()
	if cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "***")
	}
	kept := errors.New(msg)
	lower := strings.ToLower(msg)
	var se *gomail.SendError
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	switch class := outbound.Classify(err); {
	case errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) ||
		strings.Contains(lower, "x509:") || strings.Contains(lower, "failed to verify certificate"):
		// Before the "auth" test: "unknown authority" contains it.
		return &SendError{Reason: Certificate, err: kept}
	case class != outbound.BadResponse:
		return &SendError{Reason: class, err: kept}
	case strings.Contains(lower, "auth"):
		return &SendError{Reason: AuthFailed, err: kept}
	case strings.Contains(lower, "tls") || strings.Contains(lower, "certificate"):
		return &SendError{Reason: outbound.TLS, err: kept}
	case errors.As(err, &se):
		code := se.ErrorCode()
		return &SendError{Reason: Rejected, Permanent: code >= 500 && code < 600, err: kept}
	}
	return &SendError{Reason: outbound.BadResponse, err: kept}
}
