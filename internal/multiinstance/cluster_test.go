// Package multiinstance_test runs several real `gatehouse serve` processes
// on one PostgreSQL database and one Redis behind an in-test round-robin
// reverse proxy, and checks what must hold across instances (see
// TestMultiInstance). It needs GATEHOUSE_TEST_DATABASE_URL and
// GATEHOUSE_TEST_REDIS_URL (`make test-multiinstance`; .ci/run sets both).
//
// The database and Redis are reached through TCP proxies (testkit.TCPProxy)
// that a scenario can cut and restore: Cluster.PG and Cluster.Redis.
package multiinstance_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/cli"
	"gatehouse/server/testkit"
)

// The test binary doubles as the gatehouse binary: with this variable set
// it runs the command line instead of the tests.
const runAsBinary = "GATEHOUSE_TEST_RUN_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(runAsBinary) == "1" {
		os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// needServers skips unless PostgreSQL and Redis are given.
func needServers(t *testing.T) (pg, redis string) {
	t.Helper()
	pg, redis = os.Getenv("GATEHOUSE_TEST_DATABASE_URL"), os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if pg == "" || redis == "" {
		t.Skip("GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL not set (make test-multiinstance runs this suite)")
	}
	return pg, redis
}

// Options adjust a cluster. Scenarios added later (mail outbox, Redis
// failures) pass their own flags and environment here.
type Options struct {
	Instances int      // default 2
	Args      []string // extra `serve` flags for every instance
	Env       []string // extra environment for every instance
}

// Cluster is N gatehouse processes on one database and one Redis behind a
// round-robin proxy (LB).
type Cluster struct {
	t        *testing.T
	DBURL    string // through PG
	RedisURL string // through Redis
	Key      string // GATEHOUSE_SECRET_KEY of every instance
	PG       *testkit.TCPProxy
	Redis    *testkit.TCPProxy
	LB       *httptest.Server
	opt      Options

	mu    sync.Mutex
	insts []*Instance
	next  atomic.Uint64
}

// Instance is one `gatehouse serve` process.
type Instance struct {
	Base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	done   chan struct{}
	stdout *syncBuffer
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Stdout is what the instance printed so far.
func (i *Instance) Stdout() string { return i.stdout.String() }

// Stderr is what the instance logged so far.
func (i *Instance) Stderr() string { return i.stderr.String() }

func randomKey(t *testing.T) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// NewCluster makes a fresh database, starts the instances at the same
// instant on it (they migrate it together) and the proxy in front.
func NewCluster(t *testing.T, opt Options) *Cluster {
	t.Helper()
	pgAdmin, redisURL := needServers(t)
	if opt.Instances == 0 {
		opt.Instances = 2
	}
	c := &Cluster{t: t, Key: randomKey(t), opt: opt}
	db, err := url.Parse(testkit.FreshPostgres(t, pgAdmin))
	if err != nil {
		t.Fatal(err)
	}
	c.PG = testkit.NewTCPProxy(t, db.Host)
	db.Host = c.PG.Addr
	c.DBURL = db.String()
	ru, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c.Redis = testkit.NewTCPProxy(t, ru.Host)
	ru.Host = c.Redis.Addr
	c.RedisURL = ru.String()
	c.LB = httptest.NewServer(http.HandlerFunc(c.balance))
	t.Cleanup(c.LB.Close)

	insts := make([]*Instance, opt.Instances)
	errs := make([]error, opt.Instances)
	var wg sync.WaitGroup
	for i := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			insts[i], errs[i] = c.Start(nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d of %d started together on an empty database: %v", i+1, opt.Instances, err)
		}
	}
	c.mu.Lock()
	c.insts = insts
	c.mu.Unlock()
	return c
}

// Instances are the running instances behind the proxy.
func (c *Cluster) Instances() []*Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Instance(nil), c.insts...)
}

// balance sends each request to the next instance (round robin).
func (c *Cluster) balance(w http.ResponseWriter, r *http.Request) {
	insts := c.Instances()
	if len(insts) == 0 {
		http.Error(w, "no instances", http.StatusBadGateway)
		return
	}
	inst := insts[int(c.next.Add(1)-1)%len(insts)]
	target, _ := url.Parse(inst.Base)
	rp := httputil.NewSingleHostReverseProxy(target)
	w.Header().Set("X-Test-Instance", inst.Base)
	rp.ServeHTTP(w, r)
}

// Start runs one more `gatehouse serve` on the cluster's database (not
// behind the proxy) with extra environment env, and returns once it
// listens, or the error with its output when it exits first.
func (c *Cluster) Start(env []string) (*Instance, error) {
	args := append([]string{"--data", c.t.TempDir(), "--database-url", c.DBURL, "--log-level", "warn",
		"serve", "--http", "127.0.0.1:0", "--redis", c.RedisURL, "--trusted-proxy", "127.0.0.1", "--base-url", c.LB.URL}, c.opt.Args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(append(os.Environ(), runAsBinary+"=1", "GATEHOUSE_SECRET_KEY="+c.Key), c.opt.Env...), env...)
	inst := &Instance{cmd: cmd, done: make(chan struct{}), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stderr = inst.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			inst.stdout.Write([]byte(sc.Text() + "\n")) //nolint:errcheck
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(inst.done)
	}()
	c.t.Cleanup(inst.Stop)
	select {
	case a := <-addr:
		inst.Base = "http://" + a
		return inst, nil
	case <-inst.done:
		return nil, fmt.Errorf("exited with %v before listening:\n%s%s", cmd.ProcessState, inst.Stdout(), inst.Stderr())
	case <-time.After(90 * time.Second): // a hang guard, not a timing assertion
		inst.Stop()
		return nil, fmt.Errorf("did not listen within 90 s:\n%s", inst.Stderr())
	}
}

// Wait waits for the instance to exit and returns its exit code.
func (i *Instance) Wait(d time.Duration) (int, bool) {
	select {
	case <-i.done:
		return i.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// Stop ends the instance (SIGTERM, then SIGKILL after 10 s).
func (i *Instance) Stop() {
	select {
	case <-i.done:
		return
	default:
	}
	_ = i.cmd.Process.Signal(os.Interrupt)
	select {
	case <-i.done:
	case <-time.After(10 * time.Second):
		_ = i.cmd.Process.Kill()
		<-i.done
	}
}

// Gatehouse runs a one-shot command (admin create, ...) on the cluster's
// database with its key.
func (c *Cluster) Gatehouse(args ...string) (int, string) {
	cmd := exec.Command(os.Args[0], append([]string{"--data", c.t.TempDir(), "--database-url", c.DBURL}, args...)...)
	cmd.Env = append(os.Environ(), runAsBinary+"=1", "GATEHOUSE_SECRET_KEY="+c.Key)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return 0, string(out)
}

// Client is a browser: a cookie jar (cookies are per host, so one jar
// serves the proxy and every instance) and a client address of its own,
// sent as X-Forwarded-For, so that rate limits of one scenario do not
// spill into another or into a later run against the same Redis.
type Client struct {
	t    *testing.T
	http *http.Client
	IP   string
}

var clientSeq atomic.Uint32

// In is the same browser reporting failures to t (a subtest).
func (cl *Client) In(t *testing.T) *Client {
	c := *cl
	c.t = t
	return &c
}

// Client makes a new browser.
func (c *Cluster) Client() *Client {
	jar, _ := cookiejar.New(nil)
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	n := clientSeq.Add(1)
	return &Client{t: c.t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, IP: fmt.Sprintf("10.%d.%d.%d", b[0], b[1], n%250+1)}
}

// Response is an answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	URL    string
}

// Code is the error code of an error answer.
func (r *Response) Code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Map decodes a JSON object answer.
func (r *Response) Map() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(r.Body, &m)
	return m
}

func (r *Response) String() string {
	return fmt.Sprintf("%s: %d %s", r.URL, r.Status, bytes.TrimSpace(r.Body))
}

// Do sends a request to base (the proxy or one instance).
func (cl *Client) Do(method, base, path string, body any) *Response {
	cl.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			cl.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, rd)
	if err != nil {
		cl.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", cl.IP)
	resp, err := cl.http.Do(req)
	if err != nil {
		cl.t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, URL: method + " " + base + path}
}

// SignIn signs in through base and fails the test unless it succeeds.
func (cl *Client) SignIn(base, user, password string) {
	cl.t.Helper()
	if r := cl.Do("POST", base, "/api/auth/login", map[string]string{"identifier": user, "password": password}); r.Status != 200 {
		cl.t.Fatalf("sign-in of %s: %s", user, r)
	}
}

// Settings changes a settings group through base the way the console
// does: read it with its version, change fields, write it back.
func (cl *Client) Settings(base, group string, change map[string]any) {
	cl.t.Helper()
	r := cl.Do("GET", base, "/api/admin/settings/"+group, nil)
	if r.Status != 200 {
		cl.t.Fatalf("read settings: %s", r)
	}
	m := r.Map()
	delete(m, "adminSignInPaths")
	for k, v := range change {
		m[k] = v
	}
	if r := cl.Do("PUT", base, "/api/admin/settings/"+group, m); r.Status != 200 {
		cl.t.Fatalf("change settings %s: %s", group, r)
	}
}

// Eventually retries check every 100 ms until it returns "" or d passes.
func Eventually(t *testing.T, d time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setupLink is the token of the setup link an instance printed.
func setupLink(t *testing.T, inst *Instance) string {
	t.Helper()
	// The link is printed just after the "listening" line.
	var m []string
	Eventually(t, 10*time.Second, func() string {
		if m = regexp.MustCompile(`/setup\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(inst.Stdout()); m == nil {
			return "no setup link printed:\n" + inst.Stdout()
		}
		return ""
	})
	return m[1]
}

// addUser creates an account from the shell.
func (c *Cluster) addUser(t *testing.T, name, role string) {
	t.Helper()
	if code, out := c.Gatehouse("admin", "create", "--username", name, "--password", password, "--role", role, "--email", name+"@example.com"); code != 0 {
		t.Fatalf("admin create %s: exit %d\n%s", name, code, out)
	}
}

const password = "Vivid-Orbit-Tangerine-42"
