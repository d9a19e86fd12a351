// Command mailsink runs an SMTP server on loopback that keeps messages in
// memory and lists them as JSON over HTTP, for the end-to-end tests. It is
// a development tool, not part of the gatehouse binary.
//
//	go run ./internal/devtools/mailsink -smtp 127.0.0.1:0 -http 127.0.0.1:0
//
// It prints one line "SMTP host:port HTTP host:port" once both listen.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"gatehouse/server/mail/mailsink"
)

func main() {
	smtpAddr := flag.String("smtp", "127.0.0.1:0", "SMTP listen address")
	httpAddr := flag.String("http", "127.0.0.1:0", "HTTP listen address (GET /messages?to=)")
	flag.Parse()
	sink, err := mailsink.Start(*smtpAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/messages", sink.Handler())
	go http.Serve(ln, mux) //nolint:errcheck
	fmt.Printf("SMTP %s HTTP %s\n", sink.Addr, ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	sink.Close()
}
