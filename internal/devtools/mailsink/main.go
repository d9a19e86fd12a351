// Command mailsink runs an SMTP server on loopback that keeps messages in
// memory and lists them as JSON over HTTP, for the end-to-end tests. It is
// a development tool, not part of the gatehouse binary.
//
//	go run ./internal/devtools/mailsink -smtp 127.0.0.1:0 -http 127.0.0.1:0
//
// It prints one line "SMTP host:port HTTP host:port" once both listen.
// With -starttls-ca FILE it also offers STARTTLS under a certificate for
// 127.0.0.1 from a certificate authority of its own, made at start, whose
// certificate it writes to FILE in PEM (a mail server with a private CA).
package main

import (
	"crypto/tls"
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
	caFile := flag.String("starttls-ca", "", "offer STARTTLS with a certificate from a new private CA, and write that CA's certificate (PEM) to this file")
	flag.Parse()
	var cfg *tls.Config
	if *caFile != "" {
		var err error
		if cfg, err = privateCA(*caFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	sink, err := mailsink.StartTLS(*smtpAddr, cfg)
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

// privateCA writes the certificate of a new private CA to caFile and
// answers a TLS configuration with a server certificate it signed.
func privateCA(caFile string) (*tls.Config, error) {
	caPEM, cert, err := mailsink.PrivateCA()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(caFile, []byte(caPEM), 0o644); err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
