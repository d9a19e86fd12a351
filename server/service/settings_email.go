package service

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/server/mail"
	"gatehouse/server/problem"
)

// GroupEmail is the SMTP configuration.
const GroupEmail = "email"

// EmailSettings is the SMTP configuration. The password is stored sealed.
type EmailSettings struct {
	Host           string `json:"host"`
	Port           int    `json:"port"`
	Username       string `json:"username"`
	PasswordSealed string `json:"passwordSealed"`
	SenderName     string `json:"senderName"`
	SenderAddress  string `json:"senderAddress"`
	TLSMode        string `json:"tlsMode"`
	// CACertificate is PEM certificates trusted for the server's
	// certificate instead of the system's (a private CA); not a secret.
	CACertificate string `json:"caCertificate,omitempty"`
}

// Configured reports whether mail can be sent.
func (e EmailSettings) Configured() bool { return e.Host != "" && e.SenderAddress != "" }

// Email returns the SMTP settings (password still sealed).
func (s *Settings) Email(ctx context.Context) (EmailSettings, error) {
	v, _, err := getGroup[EmailSettings](ctx, s, s.deps.DB, GroupEmail, true)
	return v, err
}

type emailGroup struct{}

func init() { registerGroup(emailGroup{}) }

func (emailGroup) name() string { return GroupEmail }
func (emailGroup) defaults() any {
	return EmailSettings{Port: 587, TLSMode: "starttls", SenderName: "Gatehouse"}
}
func (emailGroup) input() any        { return &emailInput{} }
func (emailGroup) adminSignIn() bool { return false }

// view answers the group with passwordSet instead of the sealed password.
func (emailGroup) view(raw []byte) (map[string]any, error) {
	var e EmailSettings
	if err := jsonUnmarshal(raw, &e); err != nil {
		return nil, err
	}
	return map[string]any{"host": e.Host, "port": e.Port, "username": e.Username, "passwordSet": e.PasswordSealed != "",
		"senderName": e.SenderName, "senderAddress": e.SenderAddress, "tlsMode": e.TLSMode, "caCertificate": e.CACertificate}, nil
}

// emailInput is a PUT of the group; Password nil keeps the stored one, ""
// clears it. passwordSet, answered by GET, may be sent back.
type emailInput struct {
	Version       *int64  `json:"version"`
	Host          *string `json:"host"`
	Port          *int    `json:"port"`
	Username      *string `json:"username"`
	Password      *string `json:"password" optional:"true"`
	SenderName    *string `json:"senderName"`
	SenderAddress *string `json:"senderAddress"`
	TLSMode       *string `json:"tlsMode"`
	PasswordSet   *bool   `json:"passwordSet" optional:"true"`
	// CACertificate nil keeps the stored one; "" clears it.
	CACertificate *string `json:"caCertificate" optional:"true" multiline:"true"`
}

func (b *emailInput) version() int64 { return *b.Version }

// auditNote marks a password dropped because the server moved.
func (emailGroup) auditNote(in any, d map[string]any) {
	if in.(*emailInput).Password == nil && d["before"].(map[string]any)["passwordSet"] == true && d["after"].(map[string]any)["passwordSet"] == false {
		d["passwordCleared"] = true
	}
}

// smtpMoved reports whether a change points mail at another server or
// connection: host, port or TLS mode.
func smtpMoved(before, after EmailSettings) bool {
	return before.Host != after.Host || before.Port != after.Port || before.TLSMode != after.TLSMode
}

func (emailGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*emailInput)
	cur, _, err := getGroup[EmailSettings](ctx, s, tx, GroupEmail, false)
	if err != nil {
		return nil, err
	}
	v := EmailSettings{Host: *b.Host, Port: *b.Port, Username: *b.Username, SenderName: *b.SenderName, SenderAddress: *b.SenderAddress, TLSMode: *b.TLSMode}
	v.Host = strings.TrimSpace(v.Host)
	v.SenderAddress = strings.TrimSpace(v.SenderAddress)
	if len(v.Host) > 253 || strings.ContainsAny(v.Host, " /:@") {
		f.Add("host", "must be a host name or IP address, without port or scheme")
	}
	if v.Port < 1 || v.Port > 65535 {
		f.Add("port", "must be from 1 to 65535")
	}
	switch v.TLSMode {
	case "none", "starttls", "tls":
	default:
		f.Add("tlsMode", "must be none, starttls or tls")
	}
	if v.SenderAddress != "" {
		validateEmail(f, "senderAddress", v.SenderAddress)
	} else if v.Host != "" {
		f.Add("senderAddress", "is required when a host is set")
	}
	validateDisplayName(f, "senderName", v.SenderName)
	if len(v.Username) > 254 {
		f.Add("username", "must be at most 254 characters")
	}
	v.CACertificate = cur.CACertificate
	if b.CACertificate != nil {
		v.CACertificate = strings.TrimSpace(*b.CACertificate)
		if v.CACertificate != "" {
			v.CACertificate += "\n"
		}
	}
	if len(v.CACertificate) > 64<<10 {
		f.Add("caCertificate", "must be at most 64 KiB")
	} else if v.CACertificate != "" {
		if _, err := mail.CertPool(v.CACertificate); err != nil {
			f.Add("caCertificate", "must be PEM certificates (-----BEGIN CERTIFICATE----- ...): "+err.Error())
		}
	}
	v.PasswordSealed = cur.PasswordSealed
	if b.Password == nil && smtpMoved(cur, v) {
		// The stored password never follows a moved server: it would
		// sign in to whatever listens at the new address.
		v.PasswordSealed = ""
	}
	if p := b.Password; p != nil {
		if *p == "" {
			v.PasswordSealed = ""
		} else if len(*p) > 1024 {
			f.Add("password", "must be at most 1024 characters")
		} else if v.PasswordSealed, err = s.deps.Box.Seal(*p); err != nil {
			return nil, err
		}
	}
	if !v.Configured() {
		reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
		if err != nil {
			return nil, err
		}
		if reg.RequireEmailVerification {
			f.Add("host", "is needed while registration requires email verification; turn that off first")
		}
	}
	return v, f.Err()
}
