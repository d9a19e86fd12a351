package api

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"gatehouse/server/httpx"
	"gatehouse/server/security"
	"gatehouse/server/service"
)

// response_mode=form_post (OAuth 2.0 Form Post Response Mode): the
// authorization answer (code and state, or an error) is a page whose form
// posts it to the redirect URI. op has such a page, but its inline onload
// handler and the form's target are what the console's policy
// (script-src 'self', form-action 'self') forbids, so browsers would stop
// there; and op sends errors as a query redirect even in this mode.
// Gatehouse answers this mode itself, with a policy that allows this page
// exactly its one script (by nonce) and its one form target.

var formPostTemplate = template.Must(template.New("form_post").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Gatehouse</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script>
</body></html>
`))

type formField struct{ Name, Value string }

// formActionSource is the CSP source that lets a form post to redirect:
// its origin, or its scheme for a private-use scheme (com.example.app:).
func formActionSource(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme == "" {
		return "'none'"
	}
	if (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// formPostPage answers the page that posts fields to redirect.
func formPostPage(c *gin.Context, redirect string, fields url.Values) {
	nonce := security.NewToken(16)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	var list []formField
	for _, k := range names {
		list = append(list, formField{Name: k, Value: fields.Get(k)})
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+formActionSource(redirect)+
		"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = formPostTemplate.Execute(c.Writer, struct {
		Action template.URL
		Fields []formField
		Nonce  string
	}{template.URL(redirect), list, nonce})
}

// AuthorizeCallback is op's callback (the code for a finished request),
// answered here for response_mode=form_post.
func (h *Handler) AuthorizeCallback(c *gin.Context) {
	r, err := h.Svc.OIDC.RequestByID(c.Request.Context(), c.Query("id"))
	if err == nil && r.Req.Denied {
		// Declined on the consent page: answered once, in its mode.
		if err := h.Svc.OIDC.Cancel(c.Request.Context(), r.ID); err != nil {
			httpx.Render(c, err)
			return
		}
		h.authError(c, r, oidc.ErrAccessDenied().WithDescription("The person declined the request."))
		return
	}
	if err != nil || r.GetResponseMode() != oidc.ResponseModeFormPost {
		h.OP.ServeHTTP(c.Writer, c.Request)
		return
	}
	if !r.Done() {
		h.authError(c, r, oidc.ErrInteractionRequired().WithDescription("The sign-in is not finished."))
		return
	}
	resp, err := op.BuildAuthResponseCodeResponsePayload(c.Request.Context(), r, h.OP)
	if err != nil {
		httpx.Render(c, errRequestExpired)
		return
	}
	v := url.Values{"code": {resp.Code}}
	if resp.State != "" {
		v.Set("state", resp.State)
	}
	formPostPage(c, r.GetRedirectURI(), v)
}

// Authorize is op's authorization endpoint. op answers a request it
// refuses after checking the client and the redirect URI (a public client
// without PKCE, say) with a redirect carrying the error in the query, in
// every mode; in response_mode=form_post that error is posted instead.
func (h *Handler) Authorize(c *gin.Context) {
	r := c.Request.WithContext(service.WithAppMemo(c.Request.Context()))
	if r.FormValue("response_mode") != string(oidc.ResponseModeFormPost) {
		h.OP.ServeHTTP(c.Writer, r)
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.OP.ServeHTTP(rec, r)
	redirect := r.FormValue("redirect_uri")
	if loc := rec.header.Get("Location"); rec.status == http.StatusFound && redirect != "" && strings.HasPrefix(loc, redirect) {
		if u, err := url.Parse(loc); err == nil && u.Query().Get("error") != "" {
			fields := u.Query()
			if orig, err := url.Parse(redirect); err == nil {
				for k := range orig.Query() {
					fields.Del(k)
				}
			}
			formPostPage(c, redirect, fields)
			return
		}
	}
	for k, v := range rec.header {
		c.Writer.Header()[k] = v
	}
	c.Status(rec.status)
	_, _ = c.Writer.Write(rec.body.Bytes())
}

// recorder keeps op's answer for Authorize to look at.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header         { return w.header }
func (w *recorder) WriteHeader(status int)      { w.status = status }
func (w *recorder) Write(b []byte) (int, error) { return w.body.Write(b) }
