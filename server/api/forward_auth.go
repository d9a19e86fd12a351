package api

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// Forward auth: a reverse proxy (nginx auth_request, Caddy forward_auth,
// Traefik ForwardAuth) asks GET /api/forward-auth before each request to a
// protected app, passing the browser's cookies and the original request as
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri. The answer:
//
//   - 200 with X-Gatehouse-User (public ID), -Username, -Email, -Name and
//     -Role for the active account of a valid session whose role the app
//     (found by host) lets pass;
//   - 403 for another role, or for a host no protected app names (fail
//     closed: a proxy pointed at Gatehouse for an unknown host passes no one);
//   - without a valid session, 401 with a Location header to the sign-in
//     start (nginx passes only 2xx/401/403 on, and its configuration turns
//     the 401 into that redirect), or with ?redirect=true a 302 to it (Caddy
//     and Traefik hand the answer to the browser).
//
// The X-Forwarded-* headers are believed only from the trusted proxies
// (--trusted-proxy, the same list gin uses for X-Forwarded-For); from
// anyone else the host is unknown and the answer 401 or 403. The
// X-Gatehouse-* headers of the request are never read: the proxy
// configurations in the README overwrite them with the answer's. A
// request that names one of them with underscores is refused
// (forgedIdentityHeader).

var (
	errForwardHostUnknown = problem.New(problem.Forbidden, "forward_auth_host_unknown", "No protected app has this host, or the request did not come through a trusted proxy.")
	errForwardRoleRefused = problem.New(problem.Forbidden, "forward_auth_role_refused", "Your account's role may not use this app.")
	errReturnURL          = problem.New(problem.BadRequest, "invalid_return_url", "The return address is not a page of a protected app.")
	errForwardHeader      = problem.New(problem.Forbidden, "forward_auth_header_refused", "The request names a Gatehouse identity header with underscores; only the proxy sets identity headers.")
)

// forgedIdentityHeader returns the first header of the request that names
// an X-Gatehouse-* identity header with underscores (X-Gatehouse_Email,
// x_gatehouse_role). Caddy and Traefik pass such a header on to the app
// untouched, since to them it is another name, while apps behind CGI, PHP
// or WSGI read it as the identity header itself (both spellings become
// HTTP_X_GATEHOUSE_EMAIL). Both proxies hand the visitor's headers to
// forward auth, so refusing the request here protects every configuration.
// (nginx drops headers with underscores unless underscores_in_headers is
// on.) The hyphenated names are harmless: the proxies overwrite them.
func forgedIdentityHeader(h http.Header) string {
	for name := range h {
		if strings.Contains(name, "_") && strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "x-gatehouse-") {
			return name
		}
	}
	return ""
}

// forwardSignInPath starts a sign-in for a protected app (rd: where to
// return).
const forwardSignInPath = "/api/forward-auth/sign-in"

// trustedPeer reports whether the direct peer is a configured trusted proxy.
func (h *Handler) trustedPeer(c *gin.Context) bool {
	ip, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range h.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseTrustedProxies reads the --trusted-proxy list as gin does: IPs
// and CIDRs.
func parseTrustedProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

// originalRequest is the proxied request's URL from the trusted proxy's
// X-Forwarded-* headers, with its host in protected-app form; nil when the
// peer is not trusted or the headers are missing or malformed.
func (h *Handler) originalRequest(c *gin.Context) *url.URL {
	if !h.trustedPeer(c) {
		return nil
	}
	host, ok := service.NormalizeProtectedHost(c.GetHeader("X-Forwarded-Host"))
	if !ok {
		return nil
	}
	proto := strings.ToLower(c.GetHeader("X-Forwarded-Proto"))
	switch proto {
	case "http", "https":
	case "":
		proto = "http"
		if h.Cfg.SecureCookies() {
			proto = "https"
		}
	default:
		return nil
	}
	uri := c.GetHeader("X-Forwarded-Uri")
	if uri == "" || uri[0] != '/' || strings.HasPrefix(uri, "//") || strings.ContainsAny(uri, "\\\x00\r\n\t ") {
		uri = "/"
	}
	u, err := url.Parse(proto + "://" + host + uri)
	if err != nil {
		return &url.URL{Scheme: proto, Host: host, Path: "/"}
	}
	return u
}

// forwardUser is the account of the request's session when it may use
// protected apps now: active, and not held by a required password change
// or a second factor it must add first.
func (h *Handler) forwardUser(c *gin.Context) (*models.User, error) {
	token := h.Cookie.Token(c.Request)
	if token == "" {
		return nil, nil
	}
	_, user, err := h.Svc.Auth.Authenticate(c.Request.Context(), token)
	var pe *problem.Error
	if errors.As(err, &pe) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if user.MustChangePassword {
		return nil, nil
	}
	if !user.TwoFactorEnabled() {
		sec, err := h.Svc.Settings.Security(c.Request.Context())
		if err != nil {
			return nil, err
		}
		if due, _ := sec.SecondFactorDue(user, h.Svc.Now()); due {
			return nil, nil
		}
	}
	return user, nil
}

// signInURL is the sign-in start that returns to original.
func (h *Handler) signInURL(original *url.URL) string {
	return h.Cfg.BaseURL + forwardSignInPath + "?rd=" + url.QueryEscape(original.String())
}

// ForwardAuth answers a reverse proxy's per-request check.
func (h *Handler) ForwardAuth(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if name := forgedIdentityHeader(c.Request.Header); name != "" {
		h.Svc.Log.WarnContext(c.Request.Context(), "forward auth: request refused for an identity header with underscores", "header", headerValue(name[:min(len(name), 64)]), "ip", c.ClientIP())
		httpx.Render(c, errForwardHeader)
		return
	}
	original := h.originalRequest(c)
	var app *service.ProtectedApp
	if original != nil {
		var err error
		if app, err = h.Svc.ProtectedApps.ForHost(c.Request.Context(), original.Host); err != nil {
			httpx.Render(c, err)
			return
		}
	}
	user, err := h.forwardUser(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if user == nil {
		if app != nil {
			// Only a page of a protected app is worth signing in for.
			if c.Query("redirect") == "true" {
				c.Redirect(http.StatusFound, h.signInURL(original))
				return
			}
			c.Header("Location", h.signInURL(original))
		}
		if app == nil {
			// Nothing to sign in for: a browser gets the page.
			h.renderRefusal(c, httpx.ErrUnauthenticated, http.StatusUnauthorized, refusedHost, nil, original)
			return
		}
		httpx.Render(c, httpx.ErrUnauthenticated)
		return
	}
	if app == nil {
		h.renderRefusal(c, errForwardHostUnknown, http.StatusForbidden, refusedHost, user, original)
		return
	}
	if !app.Allows(user.Role) {
		h.renderRefusal(c, errForwardRoleRefused, http.StatusForbidden, refusedRole, user, original)
		return
	}
	hd := c.Writer.Header()
	hd.Set("X-Gatehouse-User", user.PublicID)
	hd.Set("X-Gatehouse-Username", user.Username)
	// Every header, empty when the account has no address: a proxy that
	// copies only the headers answered (Caddy's copy_headers) would
	// otherwise pass a visitor's own X-Gatehouse-Email on to the app.
	email := ""
	if user.Email != nil {
		email = headerValue(*user.Email)
	}
	hd.Set("X-Gatehouse-Email", email)
	hd.Set("X-Gatehouse-Name", headerValue(user.DisplayName))
	hd.Set("X-Gatehouse-Role", user.Role)
	c.Status(http.StatusOK)
}

// headerValue keeps a value on one header line (names are single-line
// already; this is defence in depth).
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// returnURL checks rd, the page a sign-in for a protected app returns to:
// an absolute http(s) URL, spelt plainly (no backslashes, control
// characters, spaces or user info, which browsers and parsers read
// differently), on a host some protected app names, and https when
// Gatehouse itself is (a session cookie never follows a downgrade).
func (h *Handler) returnURL(c *gin.Context, rd string) (*url.URL, error) {
	lower := strings.ToLower(rd)
	if len(rd) > 4096 || !(strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://")) ||
		strings.ContainsAny(rd, "\\ \t\r\n\x00") || strings.ContainsFunc(rd, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errReturnURL
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errReturnURL
	}
	if h.Cfg.SecureCookies() && u.Scheme != "https" {
		return nil, errReturnURL
	}
	host, ok := service.NormalizeProtectedHost(u.Host)
	if !ok {
		return nil, errReturnURL
	}
	app, err := h.Svc.ProtectedApps.ForHost(c.Request.Context(), host)
	if err != nil {
		return nil, err
	}
	if app == nil {
		return nil, errReturnURL
	}
	return u, nil
}

// ForwardSignIn starts (and ends) a sign-in for a protected app: with a
// session that may use protected apps it sends the browser back to rd;
// without one, to the sign-in page, which comes back here afterwards. A
// session held by a required password change or second factor goes to the
// console, which asks for them (sending it back to rd would loop).
func (h *Handler) ForwardSignIn(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	rd, err := h.returnURL(c, c.Query("rd"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	user, err := h.forwardUser(c)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	if user != nil {
		c.Redirect(http.StatusFound, rd.String())
		return
	}
	if token := h.Cookie.Token(c.Request); token != "" {
		if _, u, err := h.Svc.Auth.Authenticate(c.Request.Context(), token); err == nil && u != nil {
			c.Redirect(http.StatusFound, h.Cfg.BaseURL+"/")
			return
		}
	}
	next := forwardSignInPath + "?rd=" + url.QueryEscape(rd.String())
	c.Redirect(http.StatusFound, h.Cfg.BaseURL+"/login?next="+url.QueryEscape(next))
}
