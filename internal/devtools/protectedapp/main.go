// Command protectedapp is a tiny web app that trusts the identity headers
// its reverse proxy adds after Gatehouse's forward auth, for the
// end-to-end test of nginx auth_request (frontend/e2e/forward-auth.spec.ts).
// Every page shows who the proxy says the visitor is. It is a development
// tool, not part of the gatehouse binary.
//
//	go run ./internal/devtools/protectedapp -addr 127.0.0.1:0
//
// It prints one line "HTTP host:port" once it listens.
package main

import (
	"flag"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protected app</title></head>
<body><main>
<h1>Protected app</h1>
<p>Host <span data-testid="host">{{.Host}}</span>, path <span data-testid="path">{{.Path}}</span></p>
<dl>
<dt>User</dt><dd data-testid="user">{{.User}}</dd>
<dt>Username</dt><dd data-testid="username">{{.Username}}</dd>
<dt>Email</dt><dd data-testid="email">{{.Email}}</dd>
<dt>Name</dt><dd data-testid="name">{{.Name}}</dd>
<dt>Role</dt><dd data-testid="role">{{.Role}}</dd>
<dt>Identity headers spelt with underscores</dt><dd data-testid="underscored">{{.Underscored}}</dd>
</dl>
</main></body></html>
`))

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { //nolint:errcheck
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// Every value of a header, joined: a proxy that adds Gatehouse's
		// value beside a visitor's own (instead of replacing it) shows both.
		all := func(name string) string { return strings.Join(r.Header.Values(name), " | ") }
		// Names such as X-Gatehouse_Email, which CGI, PHP and WSGI apps
		// read as the identity headers themselves: none may arrive.
		var underscored []string
		for name := range r.Header {
			if strings.Contains(name, "_") && strings.Contains(strings.ToLower(name), "gatehouse") {
				underscored = append(underscored, name)
			}
		}
		sort.Strings(underscored)
		_ = page.Execute(w, map[string]string{
			"Host": r.Host, "Path": r.URL.RequestURI(),
			"User": all("X-Gatehouse-User"), "Username": all("X-Gatehouse-Username"),
			"Email": all("X-Gatehouse-Email"), "Name": all("X-Gatehouse-Name"),
			"Role": all("X-Gatehouse-Role"), "Underscored": strings.Join(underscored, " "),
		})
	}))
	fmt.Printf("HTTP %s\n", ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
