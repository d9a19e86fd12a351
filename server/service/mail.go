package service

import (
	"context"
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
	cfg := mail.SMTP{Host: e.Host, Port: e.Port, Username: e.Username, SenderName: e.SenderName, SenderAddress: e.SenderAddress, TLSMode: e.TLSMode}
	if e.PasswordSealed != "" {
		if cfg.Password, err = s.deps.Box.Open(e.PasswordSealed); err != nil {
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
	details := map[string]any{"to": to, "ok": sendErr == nil}
	if sendErr != nil {
		details["error"] = sendErr.Error()
	}
	if err := audit.Write(ctx, s.deps.DB, AuditEntry{Action: "settings.email_test", Actor: actor, Details: details}); err != nil {
		return err
	}
	if sendErr != nil {
		return &problem.Error{Kind: problem.Invalid, Code: "smtp_failed", Message: sendErr.Error()}
	}
	return nil
}
