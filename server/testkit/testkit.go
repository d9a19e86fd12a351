// Package testkit starts a real Gatehouse (real router, middleware and a
// temp SQLite database with the real migrations) for HTTP tests, with
// named-user builders, a controllable clock, and a client that checks every
// response against the OpenAPI document.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"gatehouse/internal/openapidoc"
	"gatehouse/models"
	"gatehouse/server"
	"gatehouse/server/api"
	"gatehouse/server/config"
	"gatehouse/server/mail/mailsink"
	"gatehouse/server/problem"
	"gatehouse/server/security"
	"gatehouse/server/service"
)

// Clock is a settable clock for tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// App is a running Gatehouse for one test.
type App struct {
	T      testing.TB
	Server *server.Server
	HTTP   *httptest.Server
	URL    string
	Clock  *Clock
	Svc    *service.Services
	Cfg    *config.Config

	router routers.Router
}

// Option adjusts the configuration before the app starts.
type Option func(*config.Config)

// Config is the server configuration an Option changes.
type Config = config.Config

// WithTrustedProxies trusts X-Forwarded-For from these proxies.
func WithTrustedProxies(p ...string) Option {
	return func(c *config.Config) { c.TrustedProxies = p }
}

// WithDatabaseURL runs the app on this database instead of a fresh one.
func WithDatabaseURL(u string) Option { return func(c *config.Config) { c.DatabaseURL = u } }

// WithHTTPWebhooks accepts http:// webhook receivers on loopback (the
// tests' httptest receivers).
func WithHTTPWebhooks() Option { return func(c *config.Config) { c.WebhooksAllowHTTPLoopback = true } }

// WithBaseURL sets the public base URL.
func WithBaseURL(u string) Option { return func(c *config.Config) { c.BaseURL = u } }

// rateLimitWindow is short so that a test can watch a limit's window end.
const rateLimitWindow = 5 * time.Second

// FastArgon2 keeps tests quick; production parameters are tested in the
// security package.
var FastArgon2 = security.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// ConsoleIndex is the index.html the test console serves.
const ConsoleIndex = "<!doctype html><title>console</title>"

// NewApp starts Gatehouse on a fresh database in t.TempDir().
func NewApp(t testing.TB, opts ...Option) *App {
	t.Helper()
	cfg := &config.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", BaseURL: "http://gatehouse.test"}
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL"); admin != "" && cfg.DatabaseURL == "" {
		cfg.DatabaseURL = migratedPostgres(t, admin)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, box, err := server.OpenLogged(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	fewIdleConns(db)
	// A bulk change's sweep of the update-time log runs after it, in the
	// background: it ends before the database closes and its directory
	// goes.
	t.Cleanup(func() { models.WaitUpdatedLogSweeps(); db.Close() })
	clock := &Clock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
	app := start(t, cfg, db, box, clock, log)
	// Most tests fire many requests from one IP; the rate-limit tests turn
	// the limiter back on with SetSecurity.
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = false })
	return app
}

// fewIdleConns keeps at most two idle connections in a PostgreSQL test
// app's pool (production keeps up to models.PostgresMaxConns). The API and
// service suites run side by side, two tests each at a time, and a test's
// connections live until it ends: with every pool keeping what its busiest
// moment opened, the server's max_connections (100) ran out and a test
// failed with "too many clients already" (CI at b4923d7).
func fewIdleConns(db *bun.DB) {
	if db.Dialect().Name() == dialect.PG {
		db.DB.SetMaxIdleConns(2)
	}
}

// start serves a Server on db through httptest.
func start(t testing.TB, cfg *config.Config, db *bun.DB, box *security.SecretBox, clock *Clock, log *slog.Logger) *App {
	t.Helper()
	console := fstest.MapFS{
		"index.html":         {Data: []byte(ConsoleIndex)},
		"assets/app-abc1.js": {Data: []byte("console.log(1)")},
	}
	srv, err := server.New(db, box, server.Options{Config: cfg, Console: console, Version: "test", Now: clock.Now, Argon2: &FastArgon2, Log: log, RateLimitWindow: rateLimitWindow})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Svc.Close)
	t.Cleanup(srv.Close)
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: hs.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &App{T: t, Server: srv, HTTP: hs, URL: hs.URL, Clock: clock, Svc: srv.Svc, Cfg: cfg, router: router}
}

// Instance starts a second Gatehouse on the same database, key and clock,
// with its own connection pool and caches: another instance behind the
// same load balancer.
func (a *App) Instance() *App {
	t := a.T
	t.Helper()
	cfg := *a.Cfg
	db, err := models.Open(cfg.DatabaseURL, cfg.DatabasePath())
	if err != nil {
		t.Fatal(err)
	}
	fewIdleConns(db)
	t.Cleanup(func() { models.WaitUpdatedLogSweeps(); db.Close() })
	key, err := security.LoadOrCreateKey(cfg.SecretKey, cfg.KeyPath())
	if err != nil {
		t.Fatal(err)
	}
	box, err := security.NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return start(t, &cfg, db, box, a.Clock, log)
}

// SetSecurity changes the security settings group.
func (a *App) SetSecurity(change func(*service.SecuritySettings)) {
	a.T.Helper()
	sec, err := a.Svc.Settings.Security(context.Background())
	if err != nil {
		a.T.Fatal(err)
	}
	change(&sec)
	if err := a.Svc.Settings.SaveSecurity(context.Background(), sec); err != nil {
		a.T.Fatal(err)
	}
}

// testWriter sends server warnings and errors to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// User is a named test account with its password.
type User struct {
	*models.User
	Password string
}

// UserSpec describes a test account.
type UserSpec struct {
	Username, Email, Role, Status, Password string
}

// CreateUser makes an account directly through the service layer.
func (a *App) CreateUser(spec UserSpec) *User {
	a.T.Helper()
	if spec.Password == "" {
		spec.Password = "Test-Passphrase-91!"
	}
	if spec.Role == "" {
		spec.Role = models.RoleUser
	}
	u, err := a.Svc.CreateUserFromShell(context.Background(), service.NewUser{
		Username: spec.Username, Email: spec.Email, Password: spec.Password, Role: spec.Role,
	})
	if err != nil {
		a.T.Fatalf("create %s: %s", spec.Username, describe(err))
	}
	if spec.Status != "" && spec.Status != models.StatusActive {
		if err := models.SetUserStatusRaw(context.Background(), a.Svc.DB, u.ID, spec.Status); err != nil {
			a.T.Fatal(err)
		}
		u.Status = spec.Status
	}
	return &User{User: u, Password: spec.Password}
}

// SuperAdmin, Admin and Member are shorthands for named accounts.
func (a *App) SuperAdmin(name string) *User {
	return a.CreateUser(UserSpec{Username: name, Email: name + "@example.com", Role: models.RoleSuperAdmin})
}

// Admin creates an active administrator.
func (a *App) Admin(name string) *User {
	return a.CreateUser(UserSpec{Username: name, Email: name + "@example.com", Role: models.RoleAdmin})
}

// Member creates an active user.
func (a *App) Member(name string) *User {
	return a.CreateUser(UserSpec{Username: name, Email: name + "@example.com", Role: models.RoleUser})
}

// Client is a browser-like HTTP client with its own cookie jar.
type Client struct {
	app    *App
	HTTP   *http.Client
	Header http.Header
	// SkipSpec turns off OpenAPI response checks (for deliberately
	// undocumented paths).
	SkipSpec bool
}

// Client returns a fresh anonymous client.
func (a *App) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{app: a, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, Header: http.Header{}}
}

// LoginAs returns a client signed in as u.
func (a *App) LoginAs(u *User) *Client {
	a.T.Helper()
	c := a.Client()
	r := c.POST("/api/auth/login", map[string]string{"identifier": u.Username, "password": u.Password})
	r.Expect(http.StatusOK)
	return c
}

// Response is a finished request.
type Response struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
	Req    *http.Request
}

// Do sends a request. body may be nil, a []byte/string (sent as is, with
// the Content-Type from headers or application/json) or any value to
// encode as JSON.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	t := c.app.T
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.app.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &Response{T: t, Status: res.StatusCode, Header: res.Header, Body: data, Req: req}
	if !c.SkipSpec && strings.HasPrefix(req.URL.Path, "/api/") && req.URL.Path != "/api/openapi.json" && res.StatusCode != http.StatusNotFound {
		c.app.checkSpec(r)
	}
	return r
}

// GET, POST, PATCH, PUT and DELETE are shorthands for Do.
func (c *Client) GET(path string, headers ...string) *Response {
	return c.Do("GET", path, nil, headers...)
}

// POST sends body as JSON.
func (c *Client) POST(path string, body any, headers ...string) *Response {
	return c.Do("POST", path, body, headers...)
}

// PATCH sends body as JSON.
func (c *Client) PATCH(path string, body any, headers ...string) *Response {
	return c.Do("PATCH", path, body, headers...)
}

// PUT sends body as JSON.
func (c *Client) PUT(path string, body any, headers ...string) *Response {
	return c.Do("PUT", path, body, headers...)
}

// DELETE sends a DELETE.
func (c *Client) DELETE(path string, headers ...string) *Response {
	return c.Do("DELETE", path, nil, headers...)
}

// Cookie returns the named cookie the jar holds for the app, or nil.
func (c *Client) Cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.app.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// Pages (forward auth's refusal page for a browser) are checked as text.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

// checkSpec validates the response against the OpenAPI document: the
// route and status must be documented and the body must match its schema.
func (a *App) checkSpec(r *Response) {
	t := a.T
	t.Helper()
	route, params, err := a.router.FindRoute(r.Req)
	if err != nil {
		t.Errorf("OpenAPI: %s %s is not documented: %v", r.Req.Method, r.Req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r.Req, PathParams: params, Route: route, Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.Status, Header: r.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("OpenAPI: response to %s %s (%d) does not match the document: %v\nbody: %s", r.Req.Method, r.Req.URL.Path, r.Status, err, truncate(r.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// Expect fails the test unless the status is one of want.
func (r *Response) Expect(want ...int) *Response {
	r.T.Helper()
	for _, w := range want {
		if r.Status == w {
			return r
		}
	}
	r.T.Fatalf("%s %s: status %d, want %v; body: %s", r.Req.Method, r.Req.URL.Path, r.Status, want, truncate(r.Body))
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) {
	r.T.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.T.Fatalf("decode %s: %v; body: %s", r.Req.URL.Path, err, truncate(r.Body))
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map() map[string]any {
	r.T.Helper()
	var m map[string]any
	r.JSON(&m)
	return m
}

// ErrorCode returns error.code of an error answer.
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Fields returns error.fields of an error answer.
func (r *Response) Fields() map[string]string {
	var e struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Fields
}

// AuditActions lists the actions of the audit rows about a target (public
// ID), oldest first.
func (a *App) AuditActions(targetPublicID string) []string {
	var rows []models.AuditEvent
	if err := a.Svc.DB.NewSelect().Model(&rows).Where("target_public_id = ?", targetPublicID).Order("id").Scan(context.Background()); err != nil {
		a.T.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Action
	}
	return out
}

// Reload reads a user's current row.
func (a *App) Reload(u *User) *models.User {
	a.T.Helper()
	m, err := models.UserByID(context.Background(), a.Svc.DB, u.ID)
	if err != nil {
		a.T.Fatal(err)
	}
	return m
}

// SetCookie returns the named cookie set by this response, or nil.
func (r *Response) SetCookie(name string) *http.Cookie {
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func describe(err error) string {
	var pe *problem.Error
	if errors.As(err, &pe) && len(pe.Fields) > 0 {
		b, _ := json.Marshal(pe.Fields)
		return err.Error() + " " + string(b)
	}
	return err.Error()
}

// AuditActionsAll lists every audit action, oldest first.
func (a *App) AuditActionsAll() []string {
	var rows []models.AuditEvent
	if err := a.Svc.DB.NewSelect().Model(&rows).Order("id").Scan(context.Background()); err != nil {
		a.T.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Action
	}
	return out
}

// Mailbox starts an in-process SMTP server and points the email settings
// at it.
func (a *App) Mailbox() *mailsink.Sink {
	a.T.Helper()
	sink, err := mailsink.Start("")
	if err != nil {
		a.T.Fatal(err)
	}
	a.T.Cleanup(func() { sink.Close() })
	err = a.Svc.Settings.Store(context.Background(), service.GroupEmail, service.EmailSettings{
		Host: sink.Host(), Port: sink.Port(), TLSMode: "none", SenderName: "Gatehouse", SenderAddress: "noreply@gatehouse.test",
	})
	if err != nil {
		a.T.Fatal(err)
	}
	return sink
}

// Drain waits until the background jobs scheduled so far (the work of
// forgot-password and resend-verification, done after their answer) have
// finished.
func (a *App) Drain() { a.Svc.Background.Wait() }

// SendDueMail makes one pass over the mail outbox after the background
// jobs: every email due now (by the app's clock) is tried once, here or
// by the app's own sender, whose attempt in flight it waits for.
func (a *App) SendDueMail() {
	a.T.Helper()
	a.Drain()
	ctx := context.Background()
	if _, err := a.Svc.Outbox.SendDue(ctx); err != nil {
		a.T.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		sending, err := a.Svc.DB.NewSelect().Model((*models.OutboxMail)(nil)).Where("status = ?", models.OutboxSending).Exists(ctx)
		if err != nil {
			a.T.Fatal(err)
		}
		if !sending {
			return
		}
		if time.Now().After(deadline) {
			a.T.Fatal("SendDueMail: an email stayed in sending for 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FlushMail drains the background jobs and then sends the outbox until no
// email is due or being sent (by this app's own sender either). An email
// sent has reached sink: after it, a missing email is missing (or waits
// for a retry that is not due yet).
func (a *App) FlushMail(sink *mailsink.Sink) {
	a.T.Helper()
	_ = sink
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.SendDueMail()
		pending, err := a.Svc.Outbox.Pending(ctx)
		if err != nil {
			a.T.Fatal(err)
		}
		if !pending {
			return
		}
		if time.Now().After(deadline) {
			a.T.Fatal("FlushMail: the outbox still has due emails after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// MailsTo lists the emails sink received for an address whose subject
// contains subject.
func MailsTo(sink *mailsink.Sink, to, subject string) []mailsink.Message {
	var out []mailsink.Message
	for _, m := range sink.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, to) && strings.Contains(m.Subject, subject) {
				out = append(out, m)
			}
		}
	}
	return out
}

// SetRegistration changes the registration settings group.
func (a *App) SetRegistration(change func(*service.RegistrationSettings)) {
	a.T.Helper()
	reg, err := a.Svc.Settings.Registration(context.Background())
	if err != nil {
		a.T.Fatal(err)
	}
	change(&reg)
	if err := a.Svc.Settings.Store(context.Background(), service.GroupRegistration, reg); err != nil {
		a.T.Fatal(err)
	}
}

// WaitMail waits up to five seconds for a message to `to` whose subject
// contains subject.
func WaitMail(t testing.TB, sink *mailsink.Sink, to, subject string) mailsink.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, ok := sink.WaitFor(ctx, to, subject)
	if !ok {
		t.Fatalf("no email to %s about %q; got %d messages", to, subject, len(sink.Messages()))
	}
	return m
}

var pgSeq atomic.Int64

// freshPostgres creates an empty database for one test on the server that
// adminURL points at (GATEHOUSE_TEST_DATABASE_URL), so the whole suite can
// run against PostgreSQL as well as SQLite, and drops it afterwards.
func freshPostgres(t testing.TB, adminURL string) string {
	t.Helper()
	admin, err := models.OpenPostgres(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("gh_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropLater(adminURL, name) })
	return databaseURL(t, adminURL, name)
}

// migratedPostgres is freshPostgres with every migration applied: a copy
// (CREATE DATABASE ... TEMPLATE) of a database this test process migrated
// once, the way Migrate does at start, instead of running every
// migration again for each test.
func migratedPostgres(t testing.TB, adminURL string) string {
	t.Helper()
	tpl, err := postgresTemplate(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := models.OpenPostgres(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("gh_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + tpl); err != nil {
		t.Fatal(err)
	}
	noCommitFlush(t, admin, name)
	t.Cleanup(func() { dropLater(adminURL, name) })
	return databaseURL(t, adminURL, name)
}

// noCommitFlush turns off synchronous_commit for the connections to a
// test's database: a commit answers before its write-ahead log reaches the
// disk. Another connection sees the change at once either way; only a
// crash of the server could lose the last commits, which a test database
// does not outlive. With a flush per commit the tests waited on the disk
// (the PostgreSQL API suite took 280-330 s against 58 s on SQLite).
func noCommitFlush(t testing.TB, admin *bun.DB, name string) {
	t.Helper()
	if _, err := admin.Exec("ALTER DATABASE " + name + " SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
}

var (
	pgTemplates   sync.Map // adminURL → *pgTemplate
	pgTemplateSeq atomic.Int64
)

type pgTemplate struct {
	once sync.Once
	name string
	err  error
}

// postgresTemplate answers the name of this process's migrated template
// database on the server adminURL names, creating it on first use. It is
// gh_tpl_<pid>; templates of test processes that have ended are dropped
// when a new one is made.
func postgresTemplate(adminURL string) (string, error) {
	v, _ := pgTemplates.LoadOrStore(adminURL, &pgTemplate{})
	tp := v.(*pgTemplate)
	tp.once.Do(func() { tp.name, tp.err = makePostgresTemplate(adminURL) })
	return tp.name, tp.err
}

func makePostgresTemplate(adminURL string) (string, error) {
	admin, err := models.OpenPostgres(adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	dropStaleTemplates(admin, adminURL)
	name := fmt.Sprintf("gh_tpl_%d_%d", os.Getpid(), pgTemplateSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		return "", err
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	cfg := &config.Config{DatabaseURL: u.String()}
	db, err := models.Open(cfg.DatabaseURL, "")
	if err != nil {
		return "", err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err = server.Migrate(context.Background(), cfg, db, log, "dev")
	db.Close()
	if err != nil {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		return "", fmt.Errorf("migrate the template database: %w", err)
	}
	return name, nil
}

// dropStaleTemplates drops the gh_tpl_<pid>_<n> templates and the
// gh_test_<pid>_<n> test databases of processes that no longer run on this
// machine (a test binary cannot drop its own template when it exits: there
// is no hook for the end of the process; nor can it wait for the drops that
// dropLater left running when its last test ended).
func dropStaleTemplates(admin *bun.DB, adminURL string) {
	var names []string
	if err := admin.NewRaw("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_tpl\\_%' OR datname LIKE 'gh\\_test\\_%'").Scan(context.Background(), &names); err != nil {
		return
	}
	for _, n := range names {
		var pid, seq int
		if _, err := fmt.Sscanf(strings.Replace(n, "gh_test_", "gh_tpl_", 1), "gh_tpl_%d_%d", &pid, &seq); err != nil || processAlive(pid) {
			continue
		}
		dropLater(adminURL, n)
	}
}

// dropSlots bounds the drops running at once. Drops that wait together
// share a checkpoint (a checkpoint requested while one runs is served by
// the next one, whoever asked for it), so with one or two at a time they
// fell behind the tests: a PostgreSQL run of server/api ended with 154 of
// its databases still to drop.
var dropSlots = make(chan struct{}, 8)

// dropLater drops a test's database without keeping the test waiting.
// DROP DATABASE waits for a checkpoint (PostgreSQL 15 forces one, which
// writes and syncs every dirty buffer of the server): 0.3-4 s per test
// that held a -parallel slot doing nothing. The test's own connections are
// closed by then (its cleanups run in reverse order); WITH (FORCE) ends
// any left over. A drop still running when the process exits is finished
// by the next test process's dropStaleTemplates.
func dropLater(adminURL, name string) {
	go func() {
		dropSlots <- struct{}{}
		defer func() { <-dropSlots }()
		dropPostgres(adminURL, name)
	}()
}

func dropPostgres(adminURL, name string) {
	a, err := models.OpenPostgres(adminURL)
	if err == nil {
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		a.Close()
	}
}

func databaseURL(t testing.TB, adminURL, name string) string {
	t.Helper()
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// FreshPostgres is an empty database of its own on the server that adminURL
// names, dropped when t ends (tests that start gatehouse processes).
func FreshPostgres(t testing.TB, adminURL string) string { return freshPostgres(t, adminURL) }
