// Package mail sends Gatehouse's emails over SMTP and renders their
// templates (plain text and HTML, English and Simplified Chinese).
package mail

import (
	"context"
	"errors"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"gatehouse/server/outbound"
)

// SMTP is a ready-to-use SMTP configuration (password already decrypted).
type SMTP struct {
	Host, Username, Password, SenderName, SenderAddress string
	Port                                                int
	TLSMode                                             string // none, starttls, tls
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
)

// SendError is a failed delivery: Reason is its class, Message the fixed
// words for it. What the SMTP server said stays in the wrapped error, for
// the server log only, and never holds the password.
type SendError struct {
	Reason string
	err    error
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
	switch cfg.TLSMode {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
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
	m := gomail.NewMsg()
	if err := m.FromFormat(cfg.SenderName, cfg.SenderAddress); err != nil {
		return &SendError{Reason: NotConfigured, err: err}
	}
	if err := m.To(msg.To); err != nil {
		return &SendError{Reason: Rejected, err: err}
	}
	m.Subject(msg.Subject)
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	dctx, cancel := context.WithTimeout(ctx, 3*outbound.SMTPTimeout)
	defer cancel()
	if err := client.DialAndSendWithContext(dctx, m); err != nil {
		return classify(cfg, err)
	}
	return nil
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
	switch class := outbound.Classify(err); {
	case class != outbound.BadResponse:
		return &SendError{Reason: class, err: kept}
	case strings.Contains(lower, "auth"):
		return &SendError{Reason: AuthFailed, err: kept}
	case strings.Contains(lower, "tls") || strings.Contains(lower, "certificate"):
		return &SendError{Reason: outbound.TLS, err: kept}
	case errors.As(err, &se):
		return &SendError{Reason: Rejected, err: kept}
	}
	return &SendError{Reason: outbound.BadResponse, err: kept}
}
