package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// The rate-limit headers describe the tightest budget the request was
// counted against, so X-RateLimit-Remaining counts down on every sign-in
// even when each attempt names another account (the per-identifier budget
// is fresh each time, the per-client one is not).
func TestHardening_RateLimitRemainingCountsDown(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 5 })
	c := app.Client()
	for i := 0; i < 5; i++ {
		r := c.POST("/api/auth/login", map[string]string{"identifier": fmt.Sprintf("nobody%d", i), "password": "wrong-password"}).Expect(401)
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(4-i); got != want {
			t.Fatalf("attempt %d: X-RateLimit-Remaining %q, want %q", i+1, got, want)
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != "5" {
			t.Fatalf("attempt %d: X-RateLimit-Limit %q", i+1, got)
		}
	}
	r := c.POST("/api/auth/login", map[string]string{"identifier": "nobody9", "password": "wrong-password"}).Expect(429)
	if got := r.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Fatalf("429: X-RateLimit-Remaining %q", got)
	}
	// The same account again: the per-identifier budget counts down too.
	app.SetSecurity(func(s *service.SecuritySettings) { s.AuthRateLimitPerMinute = 4 })
	for i := 0; i < 3; i++ {
		r := c.POST("/api/auth/login", map[string]string{"identifier": "same", "password": "wrong-password"}).Expect(401)
		if got, want := r.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(3-i); got != want {
			t.Fatalf("same account attempt %d: X-RateLimit-Remaining %q, want %q", i+1, got, want)
		}
	}
}

// The setup link works on any instance, also after the instance that
// printed it has gone (it is kept hashed in the database, not in memory),
// is single-use across instances, and expires.
func TestHardening_SetupLinkOnAnyInstance(t *testing.T) {
	t.Parallel()
	a := testkit.NewApp(t)
	token, err := a.Svc.Setup.Begin(context.Background())
	if err != nil || token == "" {
		t.Fatalf("token %q %v", token, err)
	}
	a.HTTP.Close() // the instance that printed the link stops
	b, c := a.Instance(), a.Instance()
	body := func(name string) map[string]string {
		return map[string]string{"token": token, "username": name, "password": "Vivid-Orbit-Tangerine-42"}
	}
	expectError(t, b.Client().POST("/api/setup", map[string]string{"token": token + "x", "username": "mallory", "password": "Vivid-Orbit-Tangerine-42"}), http.StatusForbidden, "setup_token_invalid")
	// Parallel replays on two instances: exactly one creates the account.
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := b
			if i%2 == 1 {
				inst = c
			}
			statuses[i] = inst.Client().POST("/api/setup", body(fmt.Sprintf("root%d", i))).Status
		}()
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict, http.StatusForbidden:
		default:
			t.Errorf("attempt %d: status %d", i, s)
		}
	}
	if created != 1 {
		t.Fatalf("%d setups succeeded, want 1 (%v)", created, statuses)
	}
}

func TestHardening_SetupLinkExpires(t *testing.T) {
	t.Parallel()
	a := testkit.NewApp(t)
	token, err := a.Svc.Setup.Begin(context.Background())
	if err != nil || token == "" {
		t.Fatalf("token %q %v", token, err)
	}
	a.Clock.Advance(24*time.Hour + time.Minute)
	expectError(t, a.Instance().Client().POST("/api/setup", map[string]string{"token": token, "username": "root", "password": "Vivid-Orbit-Tangerine-42"}), http.StatusForbidden, "setup_token_invalid")
}

// A settings change on one instance applies to the very next request on
// another (it used to take up to the 2-second cache lifetime: B accepted a
// registration after A had closed it).
func TestHardening_SettingsSeenByOtherInstanceAtOnce(t *testing.T) {
	t.Parallel()
	a := testkit.NewApp(t)
	b := a.Instance()
	a.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = true })
	reg := func(app *testkit.App, name string) *testkit.Response {
		return app.Client().POST("/api/auth/register", map[string]any{"username": name, "email": name + "@example.com", "password": "A-Fine-Passphrase-7"})
	}
	reg(b, "early").Expect(202) // B has the open registration cached now
	for i := range 5 {
		a.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = false })
		if r := reg(b, fmt.Sprintf("late%d", i)); r.Status != 403 || r.ErrorCode() != "registration_closed" {
			t.Fatalf("round %d: B after A closed registration: %d %s", i, r.Status, r.Body)
		}
		a.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = true })
		reg(b, fmt.Sprintf("open%d", i)).Expect(202)
	}
	// The security group (read on every request) too: a limit set on A
	// holds on B's next request.
	a.SetSecurity(func(s *service.SecuritySettings) { s.RateLimitEnabled = true; s.AuthRateLimitPerMinute = 1 })
	b.Client().POST("/api/auth/login", map[string]string{"identifier": "x", "password": "wrong-password"}).Expect(401)
	b.Client().POST("/api/auth/login", map[string]string{"identifier": "y", "password": "wrong-password"}).Expect(429)
}

// With the database gone (here: the connections to PostgreSQL cut and new
// ones refused), sign-in and lists answer 503 storage_unavailable with
// Retry-After, as for a full disk, not 500; when it is back, the same
// instance answers again without a restart.
func TestHardening_DatabaseDownIs503Postgres(t *testing.T) {
	admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if admin == "" {
		t.Skip("GATEHOUSE_TEST_DATABASE_URL not set (make test-go-postgres runs this)")
	}
	t.Parallel()
	u, err := url.Parse(testkit.FreshPostgres(t, admin))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testkit.NewTCPProxy(t, u.Host)
	u.Host = proxy.Addr
	app := testkit.NewApp(t, testkit.WithDatabaseURL(u.String()))
	root := app.SuperAdmin("root")
	c := app.LoginAs(root)
	c.GET("/api/admin/users").Expect(200)
	login := map[string]string{"identifier": root.Username, "password": root.Password}

	proxy.Cut()
	for _, r := range []*testkit.Response{
		app.Client().POST("/api/auth/login", login),
		c.GET("/api/admin/users"),
		c.GET("/api/me"),
		app.Client().GET("/api/auth/options"),
	} {
		if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "storage_unavailable" || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the database down: %d %s (Retry-After %q)", r.Req.Method, r.Req.URL.Path, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := app.Client().POST("/api/auth/login", login)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database came back: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.GET("/api/admin/users").Expect(200)
}

// The setup token is stored hashed (issue 14 item 6): no column of the
// setup_tokens table holds the printed token, or any part of it 16
// characters long; the row is its SHA-256 with a 24-hour expiry, and that
// row is what makes the link work.
func TestHardening_SetupTokenStoredHashed(t *testing.T) {
	t.Parallel()
	a := testkit.NewApp(t)
	ctx := context.Background()
	token, err := a.Svc.Setup.Begin(ctx)
	if err != nil || token == "" {
		t.Fatalf("token %q %v", token, err)
	}
	rows, err := a.Svc.DB.QueryContext(ctx, "SELECT * FROM setup_tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			for j := 0; j+16 <= len(token); j++ {
				if strings.Contains(s, token[j:j+16]) {
					t.Fatalf("setup_tokens.%s holds the token in clear: %q", cols[i], s)
				}
			}
		}
	}
	if err := rows.Err(); err != nil || n != 1 {
		t.Fatalf("%d setup token rows (%v); want 1", n, err)
	}
	var row service.SetupToken
	if err := a.Svc.DB.NewSelect().Model(&row).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if row.TokenHash != security.HashToken(token) || row.ExpiresAt.Sub(row.CreatedAt) != 24*time.Hour {
		t.Fatalf("stored %q expiring after %v; want the token's SHA-256 and 24h", row.TokenHash, row.ExpiresAt.Sub(row.CreatedAt))
	}
	a.Client().POST("/api/setup", map[string]string{"token": token, "username": "root", "password": "Vivid-Orbit-Tangerine-42"}).Expect(201)
}
