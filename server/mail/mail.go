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
	"strings"

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

// Send delivers msg through cfg with the outbound timeouts. A failure is a
// *SendError.
func Send(ctx context.Context, cfg SMTP, msg Message) error {
	if cfg.Host == "" || cfg.SenderAddress == "" {
		return &SendError{Reason: NotConfigured}
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(outbound.SMTPTimeout)}
	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CACertificate != "" {
		pool, err := CertPool(cfg.CACertificate)
		if err != nil {
			return &SendError{Reason: NotConfigured, err: err}
		}
		tlsConfig.RootCAs = pool
	}
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
	dctx, cancel := context.WithTimeout(ctx, 3*outbound.SMTPTimeout)
	defer cancel()
	if err := client.DialAndSendWithContext(dctx, m); err != nil {
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
