// Command rrproxy is a round-robin HTTP reverse proxy for the benchmarks
// (scripts/bench-pg.sh): several `gatehouse serve` behind one address, as
// a load balancer would put them. It adds X-Forwarded-For, so the
// instances must trust 127.0.0.1 as a proxy.
//
//	rrproxy -listen 127.0.0.1:18280 http://127.0.0.1:18281 http://127.0.0.1:18282
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync/atomic"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18280", "address to listen on")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rrproxy -listen ADDR BACKEND_URL...")
		os.Exit(2)
	}
	var backends []*httputil.ReverseProxy
	for _, arg := range flag.Args() {
		u, err := url.Parse(arg)
		if err != nil {
			log.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
		backends = append(backends, rp)
	}
	var next atomic.Uint64
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backends[(next.Add(1)-1)%uint64(len(backends))].ServeHTTP(w, r)
	})))
}
