// Package config gathers flags and environment variables into one Config
// value that the rest of the program receives explicitly.
package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Config is everything the server needs to start. Zero values are filled by
// Normalize.
type Config struct {
	// HTTPAddr is the listen address, host:port.
	HTTPAddr string
	// DataDir holds the SQLite database and the secret key.
	DataDir string
	// BaseURL is the public URL of the server, used for links in emails and
	// OIDC callbacks, and to decide whether cookies are Secure.
	BaseURL string
	// TrustedProxies lists IPs or CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string
	// DatabaseURL selects PostgreSQL ("postgres://...") instead of the
	// embedded SQLite database in DataDir.
	DatabaseURL string
	// SecretKey overrides the key file in DataDir (base64 or hex, 32 bytes).
	SecretKey string
	// RedisURL, when set, makes the rate limiter share counters in Redis.
	RedisURL string
	// RedisRequired refuses to start while Redis does not answer; without
	// it an instance starts with its limits counted in memory.
	RedisRequired bool
	// TurnstileVerifyURL overrides Cloudflare's siteverify endpoint (tests).
	TurnstileVerifyURL string
	// Metrics serves /metrics when true.
	Metrics bool
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// TLSCert and TLSKey make the server speak HTTPS itself.
	TLSCert, TLSKey string
	// WebhooksAllowHTTPLoopback accepts http:// webhook receivers on a
	// loopback address (development); receivers must use https otherwise.
	WebhooksAllowHTTPLoopback bool
	// CookieDomain, when set, shares the session cookie with the
	// subdomains of this domain (Domain attribute), so that forward auth
	// sees it on the protected apps' hosts. It must be the base URL's host
	// or a parent of it. Empty keeps the cookie on Gatehouse's own host
	// (and its __Host- prefix over HTTPS).
	CookieDomain string
}

// Normalize fills defaults and checks values that can be checked without I/O.
func (c *Config) Normalize() error {
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "gatehouse-data"
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	c.DataDir = abs
	if c.BaseURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.BaseURL = scheme + "://" + c.HTTPAddr
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base URL %q: must be an absolute http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if err := c.normalizeCookieDomain(u.Hostname()); err != nil {
		return err
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	return nil
}

// normalizeCookieDomain lowercases the cookie domain, drops a leading dot
// (browsers ignore it) and checks that a browser would accept it from the
// base URL's host: that host itself or a parent domain of it, never an IP
// address.
func (c *Config) normalizeCookieDomain(baseHost string) error {
	d := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(c.CookieDomain)), ".")
	c.CookieDomain = d
	if d == "" {
		return nil
	}
	host := strings.ToLower(baseHost)
	if net.ParseIP(host) != nil || strings.ContainsAny(d, ":/ ") || net.ParseIP(d) != nil {
		return fmt.Errorf("cookie domain %q: needs a base URL with a host name (not an IP address) and a domain name", d)
	}
	if host != d && !strings.HasSuffix(host, "."+d) {
		return fmt.Errorf("cookie domain %q: must be the base URL's host %q or a parent domain of it", d, host)
	}
	return nil
}

// CookieCovers reports whether a browser sends the session cookie to
// host (a host name without port): the base URL's host name when no
// cookie domain is set (cookies ignore ports), else the cookie domain and
// its subdomains.
func (c *Config) CookieCovers(host string) bool {
	host = strings.ToLower(host)
	if c.CookieDomain == "" {
		u, err := url.Parse(c.BaseURL)
		return err == nil && strings.EqualFold(u.Hostname(), host)
	}
	return host == c.CookieDomain || strings.HasSuffix(host, "."+c.CookieDomain)
}

// SecureCookies reports whether cookies must carry the Secure attribute (and
// so may use the __Host- prefix).
func (c *Config) SecureCookies() bool {
	return c.TLSCert != "" || strings.HasPrefix(c.BaseURL, "https://")
}

// DatabasePath is the SQLite file inside the data directory.
func (c *Config) DatabasePath() string { return filepath.Join(c.DataDir, "gatehouse.db") }

// KeyPath is the secret-key file inside the data directory.
func (c *Config) KeyPath() string { return filepath.Join(c.DataDir, "secret.key") }
