package mail

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind names a template.
type Kind string

// Templates.
const (
	KindTest        Kind = "test"
	KindVerify      Kind = "verify"
	KindReset       Kind = "reset"
	KindEmailChange Kind = "email_change"
	KindExisting    Kind = "existing_account"
	// KindEmailChanged tells the old address that the account moved away
	// from it.
	KindEmailChanged Kind = "email_changed"
	// Security alerts: a sign-in from a device the account had not used,
	// and a second factor added or removed (by the person, or all of them
	// by an administrator's reset). Each links to the security page.
	KindNewDevice      Kind = "new_device"
	KindTOTPAdded      Kind = "totp_added"
	KindTOTPRemoved    Kind = "totp_removed"
	KindPasskeyAdded   Kind = "passkey_added"
	KindPasskeyRemoved Kind = "passkey_removed"
	KindFactorsReset   Kind = "factors_reset"
)

type tmpl struct {
	subject, intro, action, outro string
}

var templates = map[string]map[Kind]tmpl{
	"en": {
		KindTest:           {"Gatehouse test email", "This is a test email from Gatehouse. If you can read it, the SMTP settings work.", "", ""},
		KindVerify:         {"Confirm your email address", "Hello {{.Name}}, please confirm your email address to activate your account.", "Confirm email address", "The link works once and expires in {{.Expires}}. If you did not register, ignore this email."},
		KindReset:          {"Reset your password", "Hello {{.Name}}, someone asked to reset the password of your account.", "Choose a new password", "The link works once and expires in {{.Expires}}. If it was not you, ignore this email; your password stays as it is."},
		KindEmailChange:    {"Confirm your new email address", "Hello {{.Name}}, confirm that this is the new email address of your account.", "Confirm new address", "The link works once and expires in {{.Expires}}. Until you confirm, your old address stays in use."},
		KindExisting:       {"Someone tried to register with your email", "Hello {{.Name}}, someone tried to create an account with this email address, which already has one.", "Reset your password", "If it was you and you forgot your password, use the link above. Otherwise ignore this email."},
		KindEmailChanged:   {"The email address of your account was changed", "Hello {{.Name}}, the email address of your account was changed to {{.NewAddress}}. This address no longer belongs to the account.", "Review your account security", "If you made this change, there is nothing to do. If you did not, sign in and change your password now, or contact an administrator."},
		KindNewDevice:      {"New sign-in to your account", "Hello {{.Name}}, your account was signed in from a device or browser it had not used before: {{.Device}}, IP address {{.IP}}, at {{.Time}}.", "Review your account security", "If it was you, there is nothing to do. If it was not, open the security page, sign out the other sessions and change your password now."},
		KindTOTPAdded:      {"An authenticator app was added to your account", "Hello {{.Name}}, an authenticator app was set up as a second factor of your account at {{.Time}}.", "Review your account security", "If you did this, there is nothing to do. If you did not, someone may know your password: change it now and remove the authenticator app."},
		KindTOTPRemoved:    {"The authenticator app was removed from your account", "Hello {{.Name}}, the authenticator app was removed from your account at {{.Time}}, with its recovery codes.", "Review your account security", "If you did this, there is nothing to do. If you did not, change your password now and set up a second factor again."},
		KindPasskeyAdded:   {"A passkey was added to your account", "Hello {{.Name}}, a passkey named \u201c{{.Detail}}\u201d was added to your account at {{.Time}}. It can sign in to your account without a password.", "Review your account security", "If you did this, there is nothing to do. If you did not, remove the passkey and change your password now."},
		KindPasskeyRemoved: {"A passkey was removed from your account", "Hello {{.Name}}, the passkey named \u201c{{.Detail}}\u201d was removed from your account at {{.Time}}.", "Review your account security", "If you did this, there is nothing to do. If you did not, change your password now and review your passkeys."},
		KindFactorsReset:   {"An administrator reset the second factors of your account", "Hello {{.Name}}, an administrator removed every second factor of your account (authenticator app, recovery codes and passkeys) at {{.Time}}, and ended your sessions.", "Set up a second factor", "Sign in and set up a second factor again. If you did not ask for this, contact an administrator."},
	},
	"zh-CN": {
		KindTest:           {"Gatehouse 测试邮件", "这是一封来自 Gatehouse 的测试邮件。能看到它，说明 SMTP 设置可用。", "", ""},
		KindVerify:         {"请确认您的邮箱地址", "{{.Name}}，您好！请确认您的邮箱地址以激活账号。", "确认邮箱地址", "该链接仅可使用一次，将在 {{.Expires}}后失效。如果不是您本人注册，请忽略此邮件。"},
		KindReset:          {"重置您的密码", "{{.Name}}，您好！有人请求重置您账号的密码。", "设置新密码", "该链接仅可使用一次，将在 {{.Expires}}后失效。如果不是您本人操作，请忽略此邮件，密码不会改变。"},
		KindEmailChange:    {"请确认您的新邮箱地址", "{{.Name}}，您好！请确认这是您账号的新邮箱地址。", "确认新邮箱", "该链接仅可使用一次，将在 {{.Expires}}后失效。确认之前，仍使用原邮箱地址。"},
		KindExisting:       {"有人尝试用您的邮箱注册", "{{.Name}}，您好！有人尝试用此邮箱地址注册新账号，但该地址已有账号。", "重置密码", "如果是您本人且忘记了密码，请使用上面的链接；否则请忽略此邮件。"},
		KindEmailChanged:   {"您账号的邮箱地址已更改", "{{.Name}}，您好！您账号的邮箱地址已更改为 {{.NewAddress}}。此地址不再属于该账号。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，请立即登录并修改密码，或联系管理员。"},
		KindNewDevice:      {"您的账号在新设备上登录", "{{.Name}}，您好！您的账号在一个以前未使用过的设备或浏览器上登录：{{.Device}}，IP 地址 {{.IP}}，时间 {{.Time}}。", "查看账号安全", "如果是您本人，无需任何处理。如果不是，请打开安全页面，退出其他会话并立即修改密码。"},
		KindTOTPAdded:      {"您的账号添加了身份验证器应用", "{{.Name}}，您好！您的账号于 {{.Time}} 设置了身份验证器应用作为第二重验证。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，可能有人知道您的密码：请立即修改密码并移除该身份验证器应用。"},
		KindTOTPRemoved:    {"您的账号移除了身份验证器应用", "{{.Name}}，您好！您账号的身份验证器应用及其恢复码已于 {{.Time}} 移除。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，请立即修改密码并重新设置第二重验证。"},
		KindPasskeyAdded:   {"您的账号添加了通行密钥", "{{.Name}}，您好！您的账号于 {{.Time}} 添加了名为“{{.Detail}}”的通行密钥。它可以不用密码登录您的账号。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，请移除该通行密钥并立即修改密码。"},
		KindPasskeyRemoved: {"您的账号移除了通行密钥", "{{.Name}}，您好！名为“{{.Detail}}”的通行密钥已于 {{.Time}} 从您的账号移除。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，请立即修改密码并检查您的通行密钥。"},
		KindFactorsReset:   {"管理员重置了您账号的第二重验证", "{{.Name}}，您好！管理员于 {{.Time}} 移除了您账号的全部第二重验证（身份验证器应用、恢复码和通行密钥），并结束了您的会话。", "设置第二重验证", "请登录并重新设置第二重验证。如果不是您要求的，请联系管理员。"},
	},
}

// Data fills a template.
type Data struct {
	Name    string
	Link    string
	Expires string
	// NewAddress is the address an account moved to (KindEmailChanged).
	NewAddress string
	// Device, IP and Time describe a sign-in or a change (alerts); Detail
	// names the passkey.
	Device, IP, Time, Detail string
	// TTL is how long the link works; when Expires is empty, Render writes
	// it there in the message's language ("24 hours", "24 小时").
	TTL time.Duration
}

// language is the template set for lang: zh-CN for any Chinese tag,
// otherwise English.
func language(lang string) string {
	if _, ok := templates[lang]; ok {
		return lang
	}
	if strings.HasPrefix(strings.ToLower(lang), "zh") {
		return "zh-CN"
	}
	return "en"
}

// Language is the language Render writes lang in ("zh-CN" or "en"): the
// links of an email name it, so that the page a link opens speaks it too.
func Language(lang string) string {
	return language(lang)
}

// Duration writes d in words of lang: days past one day, else hours, else
// minutes ("24 hours", "30 minutes", "2 天").
func Duration(lang string, d time.Duration) string {
	n, one, many, zh := int64(d/time.Minute), "minute", "minutes", "分钟"
	switch {
	case d > 24*time.Hour && d%(24*time.Hour) == 0:
		n, one, many, zh = int64(d/(24*time.Hour)), "day", "days", "天"
	case d >= time.Hour && d%time.Hour == 0:
		n, one, many, zh = int64(d/time.Hour), "hour", "hours", "小时"
	}
	if n < 1 {
		n = 1
	}
	if language(lang) == "zh-CN" {
		return fmt.Sprintf("%d %s", n, zh)
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Render builds a message of kind in lang (falling back to English).
func Render(kind Kind, lang string, to string, d Data) (Message, error) {
	lang = language(lang)
	set := templates[lang]
	if d.Expires == "" && d.TTL > 0 {
		d.Expires = Duration(lang, d.TTL)
	}
	t, ok := set[kind]
	if !ok {
		return Message{}, fmt.Errorf("no mail template %q", kind)
	}
	fill := func(s string) (string, error) {
		var b bytes.Buffer
		err := texttemplate.Must(texttemplate.New("").Parse(s)).Execute(&b, d)
		return b.String(), err
	}
	intro, err := fill(t.intro)
	if err != nil {
		return Message{}, err
	}
	outro, err := fill(t.outro)
	if err != nil {
		return Message{}, err
	}
	text := intro + "\n\n"
	if d.Link != "" {
		text += d.Link + "\n\n"
	}
	if outro != "" {
		text += outro + "\n"
	}
	var html bytes.Buffer
	err = htmlTmpl.Execute(&html, map[string]any{"Lang": lang, "Subject": t.subject, "Intro": intro, "Action": t.action, "Link": d.Link, "Outro": outro})
	if err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: t.subject, Text: text, HTML: html.String()}, nil
}

var htmlTmpl = template.Must(template.New("mail").Parse(`<!doctype html><html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,-apple-system,sans-serif;line-height:1.5;color:#222;max-width:36em;margin:2em auto">
<p>{{.Intro}}</p>
{{if .Link}}<p><a href="{{.Link}}" style="display:inline-block;padding:.6em 1.2em;background:#18a058;color:#fff;border-radius:4px;text-decoration:none">{{.Action}}</a></p>
<p style="font-size:.85em;color:#666">{{.Link}}</p>{{end}}
{{if .Outro}}<p style="font-size:.9em;color:#555">{{.Outro}}</p>{{end}}
</body></html>`))
