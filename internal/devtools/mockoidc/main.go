// Command mockoidc runs an OpenID Connect provider on loopback for the
// end-to-end tests (github.com/oauth2-proxy/mockoidc: discovery, authorize
// without a login page, token, userinfo, JWKS). It is a development tool,
// not part of the gatehouse binary.
//
//	go run ./internal/devtools/mockoidc -addr 127.0.0.1:0
//
// It prints one line "ISSUER <url> CLIENT_ID <id> CLIENT_SECRET <secret>"
// once it listens. POST /e2e/users {"sub","email","emailVerified",
// "username"} queues the person the next authorization signs in (without
// one, mockoidc's default user, jane.doe).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	clientID := flag.String("client-id", "gatehouse-e2e", "the client ID Gatehouse must use")
	clientSecret := flag.String("client-secret", "gatehouse-e2e-secret", "the client secret Gatehouse must use")
	flag.Parse()
	if err := run(*addr, *clientID, *clientSecret); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(addr, clientID, clientSecret string) error {
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		return err
	}
	m.ClientID, m.ClientSecret = clientID, clientSecret
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// mockoidc.Start would own the mux; build the same one with the queue
	// endpoint beside it, so that one port serves both.
	mux := http.NewServeMux()
	mux.HandleFunc(mockoidc.AuthorizationEndpoint, m.Authorize)
	mux.HandleFunc(mockoidc.TokenEndpoint, m.Token)
	mux.HandleFunc(mockoidc.UserinfoEndpoint, m.Userinfo)
	mux.HandleFunc(mockoidc.JWKSEndpoint, m.JWKS)
	mux.HandleFunc(mockoidc.DiscoveryEndpoint, m.Discovery)
	mux.HandleFunc("POST /e2e/users", func(w http.ResponseWriter, r *http.Request) {
		var u struct {
			Sub           string `json:"sub"`
			Email         string `json:"email"`
			EmailVerified bool   `json:"emailVerified"`
			Username      string `json:"username"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&u); err != nil || u.Sub == "" {
			http.Error(w, "want {sub, email, emailVerified, username}", http.StatusBadRequest)
			return
		}
		m.QueueUser(&mockoidc.MockUser{Subject: u.Sub, Email: u.Email, EmailVerified: u.EmailVerified, PreferredUsername: u.Username})
		w.WriteHeader(http.StatusNoContent)
	})
	m.Server = &http.Server{Addr: ln.Addr().String(), Handler: mux}
	go func() {
		if err := m.Server.Serve(ln); err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}()
	fmt.Printf("ISSUER %s CLIENT_ID %s CLIENT_SECRET %s\n", m.Issuer(), m.ClientID, m.ClientSecret)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return m.Server.Close()
}
