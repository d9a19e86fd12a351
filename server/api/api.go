// Package api holds the Gin handlers and their request and response types,
// one file per area. Handlers parse, call the service, and hand errors to
// the one renderer.
package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"github.com/zitadel/oidc/v3/pkg/op"
	"net/netip"
	"sync"

	"gatehouse/server/config"
	"gatehouse/server/middleware"
	"gatehouse/server/service"
)

//go:generate go run gatehouse/internal/devtools/openapijson

// OpenAPIYAML is the API description, the single contract for handlers,
// tests and the frontend's generated types.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OpenAPIJSON is OpenAPIYAML converted to JSON at build time (go generate;
// a test keeps it current), what /api/openapi.json serves.
//
//go:embed openapi.json
var OpenAPIJSON []byte

// Handler holds what the handlers need.
type Handler struct {
	Cfg     *config.Config
	Svc     *service.Services
	Cookie  *middleware.SessionCookie
	Limiter *middleware.RateLimiter
	// Challenge carries a pending second-factor step.
	Challenge *middleware.SessionCookie
	// Device is the browser's device cookie, renewed at each sign-in.
	Device  *middleware.DeviceCookie
	openapi func() ([]byte, error)
	Version string
	// Commit and Built name the build for /api/health ("" when unknown).
	Commit, Built string
	// OP serves the OpenID Provider's protocol endpoints (oidcprovider.go).
	OP *op.Provider
	// trusted are the proxies whose X-Forwarded-* headers forward auth
	// believes (--trusted-proxy).
	trusted []netip.Prefix
}

// NewHandler builds the handler set.
func NewHandler(cfg *config.Config, svc *service.Services, cookie, challenge *middleware.SessionCookie, limiter *middleware.RateLimiter, version string) (*Handler, error) {
	// The document is built on its first request: most processes never
	// serve it, and it would otherwise sit in memory for nothing.
	openapi := sync.OnceValues(func() ([]byte, error) { return withVersion(OpenAPIJSON, version) })
	provider, err := newOpenIDProvider(cfg, svc)
	if err != nil {
		return nil, err
	}
	return &Handler{Cfg: cfg, Svc: svc, Cookie: cookie, Challenge: challenge, Device: middleware.NewDeviceCookie(cfg.SecureCookies()), Limiter: limiter, openapi: openapi, Version: version, OP: provider, trusted: parseTrustedProxies(cfg.TrustedProxies)}, nil
}

// withVersion returns the JSON document doc, compacted, with info.version
// set to the build version.
func withVersion(doc []byte, version string) ([]byte, error) {
	var top, info map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if err := json.Unmarshal(top["info"], &info); err != nil {
		return nil, fmt.Errorf("openapi.json info: %w", err)
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	info["version"] = v
	if top["info"], err = json.Marshal(info); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}
