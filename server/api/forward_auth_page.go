package api

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/security"
)

// A browser refused by forward auth (Caddy and Traefik hand the answer to
// it) sees a small page in its person's language instead of the JSON
// error: the account's language when signed in, else Accept-Language
// (English or 简体中文). Only requests that ask for HTML get it; API
// clients (Accept: application/json, */* or none) keep the JSON answer,
// and the status codes stay. The 401 that offers a sign-in (Location) is
// unchanged: proxies turn it into the redirect.

var refusalTemplate = template.Must(template.New("refusal").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Gatehouse</title>
<style nonce="{{.Nonce}}">
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f6f7;color:#1f2225}
main{max-width:32rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1rem}
a{color:#0b6b3a;font-weight:600}
li{margin:.4rem 0}
@media (prefers-color-scheme: dark){body{background:#18191b;color:#e8eaed}main{background:#232528}a{color:#63d297}}
</style></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Reason}}</p>
<ul>
{{if .SignInURL}}<li><a href="{{.SignInURL}}">{{.SignIn}}</a></li>{{end}}
{{if .AccountURL}}<li><a href="{{.AccountURL}}">{{.Account}}</a></li>{{end}}
</ul>
</main></body></html>
`))

type refusalWords struct {
	Title, RoleRefused, HostUnknown, NotSignedIn, SignedInAs, SignIn, SignInOther, Account string
}

var refusalText = map[string]refusalWords{
	"en": {
		Title:       "No access to this app",
		RoleRefused: "your account's role may not use %HOST%. Ask an administrator if you need it.",
		HostUnknown: "no protected app has the address %HOST%, or the request did not come through a trusted proxy.",
		NotSignedIn: "No protected app has the address %HOST%, or the request did not come through a trusted proxy.",
		SignedInAs:  "You are signed in as %USER%, but ",
		SignIn:      "Sign in",
		SignInOther: "Sign in as someone else",
		Account:     "Go to your account",
	},
	"zh-CN": {
		Title:       "无权访问此应用",
		RoleRefused: "您账户的角色不能使用 %HOST%。如有需要，请联系管理员。",
		HostUnknown: "没有受保护的应用使用地址 %HOST%，或者请求并非经由受信任的代理转发。",
		NotSignedIn: "没有受保护的应用使用地址 %HOST%，或者请求并非经由受信任的代理转发。",
		SignedInAs:  "您已以 %USER% 登录，但",
		SignIn:      "登录",
		SignInOther: "以其他账户登录",
		Account:     "前往您的账户",
	},
}

var refusalLanguages = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// refusalLanguage is en or zh-CN: the account's language when there is an
// account with one, else the browser's Accept-Language.
func refusalLanguage(c *gin.Context, user *models.User) string {
	if user != nil && user.Language != "" {
		if strings.HasPrefix(strings.ToLower(user.Language), "zh") {
			return "zh-CN"
		}
		return "en"
	}
	tags, _, err := language.ParseAcceptLanguage(c.GetHeader("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en"
	}
	if _, i, _ := refusalLanguages.Match(tags...); i == 1 {
		return "zh-CN"
	}
	return "en"
}

// wantsHTML reports whether the request is a browser's page load: its
// Accept names text/html (explicitly, not through */*).
func wantsHTML(c *gin.Context) bool {
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		media, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(media), "text/html") {
			continue
		}
		// text/html;q=0 refuses HTML.
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// refusalKind says which refusal a page explains.
type refusalKind int

const (
	refusedRole refusalKind = iota
	refusedHost
)

// renderRefusal answers a refusal: the page for a browser, else the JSON
// error err with status.
func (h *Handler) renderRefusal(c *gin.Context, err error, status int, kind refusalKind, user *models.User, original *url.URL) {
	if !wantsHTML(c) {
		httpx.Render(c, err)
		return
	}
	lang := refusalLanguage(c, user)
	w := refusalText[lang]
	host := c.GetHeader("X-Forwarded-Host")
	if original != nil {
		host = original.Host
	}
	if host == "" {
		host = "?"
	}
	var reason string
	switch {
	case user == nil:
		reason = w.NotSignedIn
	case kind == refusedRole:
		reason = w.SignedInAs + w.RoleRefused
	default:
		reason = w.SignedInAs + w.HostUnknown
	}
	// The words are fixed; the name and host are replaced after escaping by
	// the template (both are plain text in it).
	username := ""
	if user != nil {
		username = user.Username
	}
	reason = strings.NewReplacer("%HOST%", host, "%USER%", username).Replace(reason)

	login := h.Cfg.BaseURL + "/login"
	signInLabel := w.SignIn
	accountURL := ""
	if user != nil {
		next := "/"
		if original != nil && kind == refusedRole {
			next = forwardSignInPath + "?rd=" + url.QueryEscape(original.String())
		}
		login += "?prompt=login&next=" + url.QueryEscape(next)
		signInLabel = w.SignInOther
		accountURL = h.Cfg.BaseURL + "/account/profile"
	}
	nonce := security.NewToken(16)
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Language", lang)
	hd.Set("Vary", "Accept, Accept-Language, Cookie")
	c.Status(status)
	_ = refusalTemplate.Execute(c.Writer, struct {
		Lang, Title, Reason, SignIn, Account, Nonce string
		SignInURL, AccountURL                       template.URL
	}{lang, w.Title, reason, signInLabel, w.Account, nonce, template.URL(login), template.URL(accountURL)})
	c.Abort()
}
