// Package api holds the Gin handlers and their request and response types,
// one file per area. Handlers parse, call the service, and hand errors to
// the one renderer.
package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"gatehouse/server/config"
	"gatehouse/server/middleware"
	"gatehouse/server/service"
)

// OpenAPIYAML is the API description, the single contract for handlers,
// tests and the frontend's generated types.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// LoadOpenAPI parses and validates the embedded document.
func LoadOpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// Handler holds what the handlers need.
type Handler struct {
	Cfg     *config.Config
	Svc     *service.Services
	Cookie  *middleware.SessionCookie
	Limiter *middleware.RateLimiter
	// Challenge carries a pending second-factor step.
	Challenge *middleware.SessionCookie
	openapi   []byte
	Version   string
}

// NewHandler builds the handler set.
func NewHandler(cfg *config.Config, svc *service.Services, cookie, challenge *middleware.SessionCookie, limiter *middleware.RateLimiter, version string) (*Handler, error) {
	doc, err := LoadOpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Info.Version = version
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &Handler{Cfg: cfg, Svc: svc, Cookie: cookie, Challenge: challenge, Limiter: limiter, openapi: js, Version: version}, nil
}
