// Command loadgen drives one HTTP workload against a Gatehouse on loopback
// and prints one line of results: clients, requests, errors, requests per
// second and latency percentiles. make bench runs it for each workload.
//
//	loadgen -url http://127.0.0.1:8080/api/me -c 32 -d 10s -cookie 'gatehouse_session=...'
//	loadgen -url .../api/auth/login -method POST -bodies logins.jsonl -c 200 -n 200
//	loadgen -url .../oauth/token -refresh-chains tokens.txt -basic id:secret -c 16 -d 10s
//
// -refresh-chains drives the OpenID Provider's refresh grant: client w
// owns line w of the file (a refresh token) and sends each request with
// the token the previous answer rotated to (a token is good once).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "target URL (one, or several separated by |, used round-robin)")
	method := flag.String("method", "GET", "HTTP method")
	body := flag.String("body", "", "request body (JSON)")
	bodies := flag.String("bodies", "", "file with one JSON body per line, used once each, round-robin")
	cookie := flag.String("cookie", "", "Cookie header")
	clients := flag.Int("c", 1, "concurrent clients")
	duration := flag.Duration("d", 0, "run for this long")
	total := flag.Int("n", 0, "or send this many requests in all")
	name := flag.String("name", "", "workload name for the output line")
	okStatus := flag.Int("ok", 200, "status counted as success")
	header := flag.String("header", "", "one more request header, \"Name: value\" (an API key's Authorization)")
	chains := flag.String("refresh-chains", "", "file with one OAuth refresh token per client: POST the refresh grant, following each client's rotation")
	basic := flag.String("basic", "", "client_id:client_secret for HTTP Basic (with -refresh-chains)")
	flag.Parse()
	if *url == "" || (*duration == 0 && *total == 0) {
		flag.Usage()
		os.Exit(2)
	}
	urls := strings.Split(*url, "|")
	// {{n}} in a body becomes a number unique to this run and request (an
	// idempotency key that is new each time).
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	hName, hValue, _ := strings.Cut(*header, ":")
	var lines []string
	if *bodies != "" {
		f, err := os.Open(*bodies)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20) // a batch of 1,000 events is one long line
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
	}
	var tokens []string
	if *chains != "" {
		b, err := os.ReadFile(*chains)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		tokens = strings.Fields(string(b))
		if len(tokens) < *clients {
			fmt.Fprintf(os.Stderr, "%d refresh tokens for %d clients\n", len(tokens), *clients)
			os.Exit(1)
		}
		*method = http.MethodPost
	}
	basicID, basicSecret, _ := strings.Cut(*basic, ":")
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	var (
		next     atomic.Int64
		errs     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		statuses = map[int]int{}
	)
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			localStatus := map[int]int{}
			for {
				i := next.Add(1) - 1
				if *total > 0 && i >= int64(*total) {
					break
				}
				if *duration > 0 && time.Now().After(deadline) {
					break
				}
				var rd io.Reader
				b := *body
				if len(lines) > 0 {
					b = lines[int(i)%len(lines)]
				}
				if strings.Contains(b, "{{n}}") {
					b = strings.ReplaceAll(b, "{{n}}", run+"-"+strconv.FormatInt(i, 10))
				}
				if tokens != nil {
					b = "grant_type=refresh_token&refresh_token=" + neturl.QueryEscape(tokens[w])
				}
				if b != "" {
					rd = bytes.NewReader([]byte(b))
				}
				req, _ := http.NewRequest(*method, urls[int(i)%len(urls)], rd)
				if tokens != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(neturl.QueryEscape(basicID), neturl.QueryEscape(basicSecret))
				} else if b != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if *cookie != "" {
					req.Header.Set("Cookie", *cookie)
				}
				if hName != "" {
					req.Header.Set(strings.TrimSpace(hName), strings.TrimSpace(hValue))
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				if tokens != nil {
					var out struct {
						RefreshToken string `json:"refresh_token"`
					}
					_ = json.NewDecoder(res.Body).Decode(&out)
					if out.RefreshToken != "" {
						tokens[w] = out.RefreshToken
					}
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				local = append(local, time.Since(t0))
				localStatus[res.StatusCode]++
				if res.StatusCode != *okStatus {
					errs.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range localStatus {
				statuses[k] += v
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fms", float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds())/1000)
	}
	fmt.Printf("%-34s clients=%-4d requests=%-7d errors=%-5d rps=%-9.1f p50=%-9s p95=%-9s p99=%-9s statuses=%v\n",
		*name, *clients, len(lat), errs.Load(), float64(statuses[*okStatus])/elapsed.Seconds(), pct(0.50), pct(0.95), pct(0.99), statuses)
}
