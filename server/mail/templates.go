package mail

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	texttemplate "text/template"
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
)

type tmpl struct {
	subject, intro, action, outro string
}

var templates = map[string]map[Kind]tmpl{
	"en": {
		KindTest:         {"Gatehouse test email", "This is a test email from Gatehouse. If you can read it, the SMTP settings work.", "", ""},
		KindVerify:       {"Confirm your email address", "Hello {{.Name}}, please confirm your email address to activate your account.", "Confirm email address", "The link works once and expires in {{.Expires}}. If you did not register, ignore this email."},
		KindReset:        {"Reset your password", "Hello {{.Name}}, someone asked to reset the password of your account.", "Choose a new password", "The link works once and expires in {{.Expires}}. If it was not you, ignore this email; your password stays as it is."},
		KindEmailChange:  {"Confirm your new email address", "Hello {{.Name}}, confirm that this is the new email address of your account.", "Confirm new address", "The link works once and expires in {{.Expires}}. Until you confirm, your old address stays in use."},
		KindExisting:     {"Someone tried to register with your email", "Hello {{.Name}}, someone tried to create an account with this email address, which already has one.", "Reset your password", "If it was you and you forgot your password, use the link above. Otherwise ignore this email."},
		KindEmailChanged: {"The email address of your account was changed", "Hello {{.Name}}, the email address of your account was changed to {{.NewAddress}}. This address no longer belongs to the account.", "Review your account security", "If you made this change, there is nothing to do. If you did not, sign in and change your password now, or contact an administrator."},
	},
	"zh-CN": {
		KindTest:         {"Gatehouse 测试邮件", "这是一封来自 Gatehouse 的测试邮件。能看到它，说明 SMTP 设置可用。", "", ""},
		KindVerify:       {"请确认您的邮箱地址", "{{.Name}}，您好！请确认您的邮箱地址以激活账号。", "确认邮箱地址", "该链接仅可使用一次，将在 {{.Expires}} 后失效。如果不是您本人注册，请忽略此邮件。"},
		KindReset:        {"重置您的密码", "{{.Name}}，您好！有人请求重置您账号的密码。", "设置新密码", "该链接仅可使用一次，将在 {{.Expires}} 后失效。如果不是您本人操作，请忽略此邮件，密码不会改变。"},
		KindEmailChange:  {"请确认您的新邮箱地址", "{{.Name}}，您好！请确认这是您账号的新邮箱地址。", "确认新邮箱", "该链接仅可使用一次，将在 {{.Expires}} 后失效。确认之前，仍使用原邮箱地址。"},
		KindExisting:     {"有人尝试用您的邮箱注册", "{{.Name}}，您好！有人尝试用此邮箱地址注册新账号，但该地址已有账号。", "重置密码", "如果是您本人且忘记了密码，请使用上面的链接；否则请忽略此邮件。"},
		KindEmailChanged: {"您账号的邮箱地址已更改", "{{.Name}}，您好！您账号的邮箱地址已更改为 {{.NewAddress}}。此地址不再属于该账号。", "查看账号安全", "如果是您本人操作，无需任何处理。如果不是，请立即登录并修改密码，或联系管理员。"},
	},
}

// Data fills a template.
type Data struct {
	Name    string
	Link    string
	Expires string
	// NewAddress is the address an account moved to (KindEmailChanged).
	NewAddress string
}

// Render builds a message of kind in lang (falling back to English).
func Render(kind Kind, lang string, to string, d Data) (Message, error) {
	set, ok := templates[lang]
	if !ok {
		if strings.HasPrefix(strings.ToLower(lang), "zh") {
			set = templates["zh-CN"]
		} else {
			set = templates["en"]
		}
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
	err = htmlTmpl.Execute(&html, map[string]any{"Subject": t.subject, "Intro": intro, "Action": t.action, "Link": d.Link, "Outro": outro})
	if err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: t.subject, Text: text, HTML: html.String()}, nil
}

var htmlTmpl = template.Must(template.New("mail").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,-apple-system,sans-serif;line-height:1.5;color:#222;max-width:36em;margin:2em auto">
<p>{{.Intro}}</p>
{{if .Link}}<p><a href="{{.Link}}" style="display:inline-block;padding:.6em 1.2em;background:#18a058;color:#fff;border-radius:4px;text-decoration:none">{{.Action}}</a></p>
<p style="font-size:.85em;color:#666">{{.Link}}</p>{{end}}
{{if .Outro}}<p style="font-size:.9em;color:#555">{{.Outro}}</p>{{end}}
</body></html>`))
