// Package oidc speaks to identity providers as a relying party: discovery,
// the authorization-code exchange with PKCE, ID-token verification (by
// go-oidc: issuer, audience, expiry, signature) plus the nonce check that
// go-oidc leaves to its caller, userinfo, and mapping claims to account
// fields. It stores nothing but cached signing keys; the service keeps
// state, nonce and verifier.
package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/server/outbound"
)

// Provider types, as stored.
const (
	TypeOIDC   = "oidc"
	TypeOAuth2 = "oauth2"
)

// maxDocument caps what is read from a provider (discovery, userinfo).
const maxDocument = 1 << 20

// Provider is what a flow needs to know about one identity provider.
type Provider struct {
	Type             string
	ClientID         string
	ClientSecret     string
	IssuerURL        string
	AuthorizationURL string
	TokenURL         string
	UserinfoURL      string
	JWKSURL          string
	Scopes           []string
	RedirectURL      string
}

func (p *Provider) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: p.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: p.AuthorizationURL, TokenURL: p.TokenURL},
	}
}

// Client talks to providers. It is safe for concurrent use and caches
// each provider's signing keys (keyed by JWKS URL).
type Client struct {
	http *http.Client
	now  func() time.Time

	mu   sync.Mutex
	keys map[string]*gooidc.RemoteKeySet
}

// NewClient returns a client whose token checks use now (the server clock).
func NewClient(now func() time.Time) *Client {
	if now == nil {
		now = time.Now
	}
	return &Client{http: outbound.NewHTTPClient(), now: now, keys: map[string]*gooidc.RemoteKeySet{}}
}

// Error is a failed step of a flow. Code is safe to show (it becomes the
// error code on the sign-in page); Err is for the log and audit.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code string, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// AuthCodeURL is where the browser goes to sign in at the provider: the
// state, a PKCE S256 challenge always, and for OIDC the nonce.
func (c *Client) AuthCodeURL(p *Provider, state, nonce, verifier string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.Type == TypeOIDC {
		opts = append(opts, gooidc.Nonce(nonce))
	}
	return p.config().AuthCodeURL(state, opts...)
}

// Exchange trades the code for tokens (sending the PKCE verifier) and
// returns the provider's claims about the person. For OIDC the ID token
// must verify (signature, issuer, audience, expiry) and carry exactly the
// nonce of this flow; userinfo claims, when an endpoint is configured, only
// add to the ID token's and must name the same subject. Plain OAuth2 takes
// the userinfo answer as the claims.
func (c *Client) Exchange(ctx context.Context, p *Provider, code, verifier, nonce string) (map[string]any, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	tok, err := p.config().Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, &Error{Code: "token_exchange_failed", Err: err}
	}
	if p.Type != TypeOIDC {
		if p.UserinfoURL == "" {
			return nil, fail("userinfo_failed", "no userinfo endpoint configured")
		}
		return c.userinfo(ctx, p.UserinfoURL, tok.AccessToken)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fail("id_token_missing", "the token response has no id_token")
	}
	v := gooidc.NewVerifier(p.IssuerURL, c.keySet(p.JWKSURL), &gooidc.Config{ClientID: p.ClientID, Now: c.now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, &Error{Code: "id_token_invalid", Err: err}
	}
	// go-oidc does not compare the nonce; an ID token minted for another
	// flow (a replayed or injected code) stops here.
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fail("nonce_mismatch", "the ID token's nonce does not belong to this sign-in")
	}
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, &Error{Code: "id_token_invalid", Err: err}
	}
	claims, err := decodeObject(payload)
	if err != nil {
		return nil, &Error{Code: "id_token_invalid", Err: err}
	}
	if p.UserinfoURL != "" && tok.AccessToken != "" {
		info, err := c.userinfo(ctx, p.UserinfoURL, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		// OIDC Core 5.3.2: a userinfo answer about another subject is void.
		if sub, _ := info["sub"].(string); sub != idt.Subject {
			return nil, fail("userinfo_failed", "userinfo names subject %q, the ID token %q", sub, idt.Subject)
		}
		for k, v := range info {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	return claims, nil
}

func (c *Client) keySet(jwksURL string) *gooidc.RemoteKeySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	ks, ok := c.keys[jwksURL]
	if !ok {
		// A long-lived key set (it caches keys across sign-ins); its
		// context only carries the HTTP client.
		ks = gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), c.http), jwksURL)
		c.keys[jwksURL] = ks
	}
	return ks
}

func (c *Client) userinfo(ctx context.Context, endpoint, accessToken string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, &Error{Code: "userinfo_failed", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Gatehouse")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Code: "userinfo_failed", Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocument))
	if err != nil {
		return nil, &Error{Code: "userinfo_failed", Err: err}
	}
	if res.StatusCode != http.StatusOK {
		return nil, fail("userinfo_failed", "userinfo answered %s", res.Status)
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, &Error{Code: "userinfo_failed", Err: err}
	}
	return m, nil
}

// decodeObject decodes a JSON object keeping numbers exact (numeric
// subjects such as GitHub's user IDs must not pass through float64).
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// Endpoints are what discovery found.
type Endpoints struct {
	IssuerURL        string   `json:"issuerUrl"`
	AuthorizationURL string   `json:"authorizationUrl"`
	TokenURL         string   `json:"tokenUrl"`
	UserinfoURL      string   `json:"userinfoUrl"`
	JWKSURL          string   `json:"jwksUrl"`
	ScopesSupported  []string `json:"scopesSupported"`
}

// Discovery failure classes beyond the outbound ones (unreachable,
// timeout, tls, redirect_refused, bad_response).
const (
	IssuerMismatch     = "issuer_mismatch"
	IncompleteDocument = "incomplete_document"
)

// DiscoveryError is a failed discovery: Reason is its class, Message the
// fixed words for it. Nothing the remote server sent (its issuer, its
// error text) is in either.
type DiscoveryError struct {
	Reason string
	err    error
}

func (e *DiscoveryError) Error() string {
	if e.err != nil {
		return "discovery failed: " + e.Reason + ": " + e.err.Error()
	}
	return "discovery failed: " + e.Reason
}

// Unwrap gives the underlying error, for the server log.
func (e *DiscoveryError) Unwrap() error { return e.err }

// Message is the fixed, safe explanation of the failure.
func (e *DiscoveryError) Message() string {
	switch e.Reason {
	case outbound.BadResponse:
		return "The issuer did not answer with an OpenID discovery document. Check the issuer URL."
	case IssuerMismatch:
		return "The discovery document names a different issuer. Enter exactly the issuer the provider documents (watch for a trailing slash)."
	case IncompleteDocument:
		return "The discovery document lacks an endpoint a sign-in needs (authorization, token or JWKS)."
	}
	return outbound.Message(e.Reason)
}

func discoveryFailed(reason string, err error) *DiscoveryError {
	return &DiscoveryError{Reason: reason, err: err}
}

// Discover fetches {issuer}/.well-known/openid-configuration through the
// outbound client and checks that it names the same issuer and the
// endpoints a sign-in needs.
func (c *Client) Discover(ctx context.Context, issuer string) (*Endpoints, error) {
	issuer = strings.TrimSpace(issuer)
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, discoveryFailed(outbound.Unreachable, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Gatehouse")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, discoveryFailed(outbound.Classify(err), err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocument))
	if err != nil {
		return nil, discoveryFailed(outbound.Classify(err), err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, discoveryFailed(outbound.BadResponse, fmt.Errorf("status %d", res.StatusCode))
	}
	var doc struct {
		Issuer          string   `json:"issuer"`
		Authorization   string   `json:"authorization_endpoint"`
		Token           string   `json:"token_endpoint"`
		Userinfo        string   `json:"userinfo_endpoint"`
		JWKS            string   `json:"jwks_uri"`
		ScopesSupported []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, discoveryFailed(outbound.BadResponse, errors.New("not a JSON discovery document"))
	}
	if doc.Issuer != issuer {
		return nil, discoveryFailed(IssuerMismatch, nil)
	}
	if doc.Authorization == "" || doc.Token == "" || doc.JWKS == "" {
		return nil, discoveryFailed(IncompleteDocument, nil)
	}
	if doc.ScopesSupported == nil {
		doc.ScopesSupported = []string{}
	}
	return &Endpoints{IssuerURL: doc.Issuer, AuthorizationURL: doc.Authorization, TokenURL: doc.Token,
		UserinfoURL: doc.Userinfo, JWKSURL: doc.JWKS, ScopesSupported: doc.ScopesSupported}, nil
}
