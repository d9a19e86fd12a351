package service

import (
	"context"
	"errors"
	"strings"

	"gatehouse/server/mail"
	"gatehouse/server/problem"
)

// smtpConfig returns the SMTP settings with the password decrypted.
func (s *Settings) smtpConfig(ctx context.Context) (mail.SMTP, error) {
	e, err := s.Email(ctx)
	if err != nil {
		return mail.SMTP{}, err
	}
	cfg := mail.SMTP{Host: e.Host, Port: e.Port, Username: e.Username, SenderName: e.SenderName, SenderAddress: e.SenderAddress, TLSMode: e.TLSMode, CACertificate: e.CACertificate}
	if e.PasswordSealed != "" {
		if cfg.Password, err = s.deps.openSealed(ctx, nil, e.PasswordSealed); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// SendTestEmail sends the test template to an address the admin typed and
// reports an SMTP failure in words (a 422 the console shows as it is).
func (s *Settings) SendTestEmail(ctx context.Context, actor Actor, audit *Audit, to string) error {
	f := problem.Fields{}
	to = strings.TrimSpace(to)
	validateEmail(f, "to", to)
	if err := f.Err(); err != nil {
		return err
	}
	cfg, err := s.smtpConfig(ctx)
	if err != nil {
		return err
	}
	lang := "en"
	if actor.User != nil {
		lang = actor.User.Language
	}
	msg, err := mail.Render(mail.KindTest, lang, to, mail.Data{})
	if err != nil {
		return err
	}
	sendErr := mail.Send(ctx, cfg, msg)
	var se *mail.SendError
	if sendErr != nil && !errors.As(sendErr, &se) {
		se = &mail.SendError{Reason: mail.NotConfigured}
	}
	details := map[string]any{"to": to, "ok": sendErr == nil, "host": cfg.Host, "port": cfg.Port}
	if se != nil {
		// The failure class only: what the server said goes to the log.
		details["reason"] = se.Reason
		s.deps.Log.WarnContext(ctx, "test email failed", "reason", se.Reason, "err", sendErr)
	}
	if err := audit.Write(ctx, s.deps.DB, AuditEntry{Action: ActionEmailTest, Actor: actor, Details: details}); err != nil {
		return err
	}
	if se != nil {
		return &problem.Error{Kind: problem.Invalid, Code: "smtp_failed", Message: se.Message(), Extra: map[string]any{"reason": se.Reason}}
	}
	return nil
}

// ActionEmailTest records a test email (an outbound request made for an
// administrator) and its outcome.
const ActionEmailTest = "settings.email_test"
