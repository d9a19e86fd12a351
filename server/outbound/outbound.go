// Package outbound is the one way Gatehouse talks to servers an
// administrator configured (identity providers, SMTP relays): short
// timeouts, no redirect to another origin, and failures sorted into a few
// classes whose messages are fixed, so that nothing a remote server says
// (or an internal error text) reaches an answer. Loopback and private
// addresses are allowed on purpose: self-hosted identity providers and
// mail relays live there.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Timeouts of one outbound exchange.
const (
	// HTTPTimeout bounds a whole HTTP exchange (connect, TLS, answer).
	HTTPTimeout = 5 * time.Second
	// DialTimeout bounds connecting, for HTTP and SMTP.
	DialTimeout = 4 * time.Second
	// SMTPTimeout bounds each step of an SMTP conversation.
	SMTPTimeout = 8 * time.Second
	// maxRedirects is how many same-origin redirects are followed.
	maxRedirects = 3
)

// Failure classes. Each has one fixed message (Message).
const (
	Unreachable     = "unreachable"
	Timeout         = "timeout"
	TLS             = "tls"
	RedirectRefused = "redirect_refused"
	BadResponse     = "bad_response"
)

var messages = map[string]string{
	Unreachable:     "The server could not be reached. Check the address and that it is running.",
	Timeout:         "The server did not answer in time.",
	TLS:             "A secure (TLS) connection to the server could not be made.",
	RedirectRefused: "The server redirected to another address; redirects to another origin are not followed.",
	BadResponse:     "The server's answer was not what was expected.",
}

// Message is the fixed, safe message of a failure class.
func Message(class string) string {
	if m, ok := messages[class]; ok {
		return m
	}
	return messages[BadResponse]
}

// ErrRedirectRefused is returned (wrapped in a *url.Error) when a server
// redirects to another origin.
var ErrRedirectRefused = errors.New("redirect to another origin refused")

// NewHTTPClient returns the outbound HTTP client: a fresh transport with
// short dial and TLS handshake timeouts, an overall timeout, proxies from
// the environment, and redirects followed only within the same origin
// (scheme, host and port) and at most three times.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: HTTPTimeout,
		MaxIdleConns:          20,
		IdleConnTimeout:       60 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Timeout: HTTPTimeout, Transport: tr, CheckRedirect: sameOrigin}
}

func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return ErrRedirectRefused
	}
	if !SameOrigin(req.URL, via[0].URL) {
		return ErrRedirectRefused
	}
	return nil
}

// SameOrigin reports whether a and b have the same scheme, host and port.
func SameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// Reasons finer than the classes, for logs that show why an attempt
// failed (the webhook delivery log): an unreachable server either refused
// the connection or its name did not resolve.
const (
	ConnectionRefused = "connection_refused"
	DNS               = "dns"
)

// Reason is Classify with unreachable split into connection_refused and
// dns where the error says which.
func Reason(err error) string {
	class := Classify(err)
	if class != Unreachable {
		return class
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ConnectionRefused
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return DNS
	}
	return class
}

// Classify sorts a failed exchange into a class: redirect_refused,
// timeout, tls or unreachable for what happened on the way, bad_response
// for everything else (the caller uses BadResponse itself for an answer
// it does not accept).
func Classify(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrRedirectRefused) {
		return RedirectRefused
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Timeout
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) ||
		errors.As(err, &record) || errors.As(err, &alert) {
		return TLS
	}
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	if errors.As(err, &op) || errors.As(err, &dns) {
		return Unreachable
	}
	return BadResponse
}
