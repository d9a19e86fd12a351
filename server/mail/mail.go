// Package mail sends Gatehouse's emails over SMTP and renders their
// templates (plain text and HTML, English and Simplified Chinese).
package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
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

// Send delivers msg through cfg. Errors are worded for an administrator
// (they are shown by "send test email") and never contain the password.
func Send(ctx context.Context, cfg SMTP, msg Message) error {
	if cfg.Host == "" || cfg.SenderAddress == "" {
		return errors.New("SMTP is not configured: set a host and a sender address")
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(15 * time.Second)}
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
		return fmt.Errorf("SMTP settings are not usable: %w", err)
	}
	m := gomail.NewMsg()
	if err := m.FromFormat(cfg.SenderName, cfg.SenderAddress); err != nil {
		return fmt.Errorf("sender address %q is not valid", cfg.SenderAddress)
	}
	if err := m.To(msg.To); err != nil {
		return fmt.Errorf("recipient address %q is not valid", msg.To)
	}
	m.Subject(msg.Subject)
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		return explain(cfg, err)
	}
	return nil
}

// explain words a delivery failure for an administrator.
func explain(cfg SMTP, err error) error {
	addr := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	msg := err.Error()
	if cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "***")
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("the SMTP server at %s did not answer in time", addr)
	case strings.Contains(msg, "connection refused"):
		return fmt.Errorf("the SMTP server at %s refused the connection (is the host and port right?)", addr)
	case strings.Contains(msg, "no such host"):
		return fmt.Errorf("the SMTP host %q could not be found", cfg.Host)
	case strings.Contains(strings.ToLower(msg), "auth"):
		return fmt.Errorf("the SMTP server at %s refused the sign-in: %s", addr, msg)
	case strings.Contains(strings.ToLower(msg), "tls") || strings.Contains(msg, "certificate"):
		return fmt.Errorf("TLS with the SMTP server at %s failed (check the TLS mode): %s", addr, msg)
	}
	return fmt.Errorf("sending through %s failed: %s", addr, msg)
}
