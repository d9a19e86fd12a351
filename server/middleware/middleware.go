// Package middleware holds the Gin middleware: request IDs, logging,
// recovery, security headers, session and token authentication, and role
// checks.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/problem"
)

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID takes a sane X-Request-ID from the client or makes one, and
// echoes it in the response.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDRe.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(httpx.RequestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

// Logger writes one structured line per request.
func Logger(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Set(httpx.LoggerKey, log)
		c.Next()
		path := c.Request.URL.Path
		level := slog.LevelInfo
		if path == "/api/health" || path == "/api/ready" || strings.HasPrefix(path, "/assets/") {
			level = slog.LevelDebug
		}
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method), slog.String("path", path),
			slog.Int("status", c.Writer.Status()), slog.Duration("duration", time.Since(start)),
			slog.String("ip", c.ClientIP()), slog.String("request_id", c.GetString(httpx.RequestIDKey)))
	}
}

// Recovery turns a panic into a logged 500 in the error shape.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		log.Error("panic", "panic", rec, "request_id", c.GetString(httpx.RequestIDKey), "path", c.Request.URL.Path)
		httpx.Render(c, problem.New(0, "internal_error", "Something went wrong on our side (request "+c.GetString(httpx.RequestIDKey)+").").With("requestId", c.GetString(httpx.RequestIDKey)))
	})
}

// contentSecurityPolicy allows only same-origin scripts, plus Cloudflare
// Turnstile's script and frame for the registration page; naive-ui injects
// style elements at run time, hence 'unsafe-inline' for styles only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' https://challenges.cloudflare.com; " +
	"frame-src https://challenges.cloudflare.com; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets the headers every answer carries. Referrer-Policy is
// no-referrer everywhere, so reset and verification links in the URL never
// leak to other sites.
func SecurityHeaders(hsts bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// CrossOrigin wraps next in Go's cross-origin protection (Sec-Fetch-Site and
// Origin checks on unsafe methods) and answers refusals in the error shape.
func CrossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// The OpenID Provider's back-channel endpoints authenticate the client
	// (secret or PKCE), never a cookie; browser apps call them cross-site.
	// An authorization request may be posted by the relying party's page
	// (OpenID Connect Core 3.1.2.1); it only stores the request and sends the
	// browser on to the sign-in step, which is a GET with the session. A
	// logout request posted the same way is only turned into its GET.
	for _, p := range []string{"POST /oauth/authorize", "POST /oauth/end_session", "POST /oauth/token", "POST /oauth/revoke", "POST /oauth/introspect", "POST /oauth/userinfo"} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"cross_origin_refused","message":"Cross-site requests are not allowed."}}`))
	}))
	return cop.Handler(next)
}

// StrictQuery refuses a query string that does not parse (Go silently drops
// "a=b;c" pairs, which would turn "sort=name;--" into no sort at all).
func StrictQuery() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, err := url.ParseQuery(c.Request.URL.RawQuery); err != nil {
			httpx.Render(c, problem.New(problem.BadRequest, "invalid_query", "The query string is malformed (semicolons and bad escapes are not accepted)."))
			return
		}
		c.Next()
	}
}
