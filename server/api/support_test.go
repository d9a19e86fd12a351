package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/middleware"
	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

const cookieName = "gatehouse_session"

// creds is a sign-in body.
func creds(identifier, password string) map[string]string {
	return map[string]string{"identifier": identifier, "password": password}
}

// auditRows returns the audit rows with this action, oldest first; when
// target is not empty, only those about that public ID.
func auditRows(t *testing.T, app *testkit.App, action, target string) []models.AuditEvent {
	t.Helper()
	var rows []models.AuditEvent
	q := app.Svc.DB.NewSelect().Model(&rows).Where("action = ?", action).Order("id")
	if target != "" {
		q = q.Where("target_public_id = ?", target)
	}
	if err := q.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rows
}

// auditCount counts all audit rows.
func auditCount(t *testing.T, app *testkit.App) int {
	t.Helper()
	n, err := app.Svc.DB.NewSelect().Model((*models.AuditEvent)(nil)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// details decodes an audit row's details.
func details(t *testing.T, e models.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Details), &m); err != nil {
		t.Fatalf("audit details %q: %v", e.Details, err)
	}
	return m
}

// sessionCount counts a user's session rows.
func sessionCount(t *testing.T, app *testkit.App, userID int64) int {
	t.Helper()
	n, err := app.Svc.DB.NewSelect().Model((*models.Session)(nil)).Where("user_id = ?", userID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// replay returns a fresh client that sends exactly this cookie value, the
// way an attacker would replay a copied cookie.
func replay(app *testkit.App, value string) *testkit.Client {
	c := app.Client()
	c.Header.Set("Cookie", cookieName+"="+value)
	return c
}

// cookieValue is the session cookie a signed-in client holds.
func cookieValue(t *testing.T, c *testkit.Client) string {
	t.Helper()
	ck := c.Cookie(cookieName)
	if ck == nil || ck.Value == "" {
		t.Fatal("the client holds no session cookie")
	}
	return ck.Value
}

// sessionToken opens a session cookie value and returns the raw session
// token inside it. The key derivation mirrors server.deriveKey.
func sessionToken(t *testing.T, app *testkit.App, value string) string {
	t.Helper()
	master, err := security.LoadOrCreateKey(app.Cfg.SecretKey, app.Cfg.KeyPath())
	if err != nil {
		t.Fatal(err)
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	sc := middleware.NewSessionCookie(derive("cookie-hash"), derive("cookie-block"), app.Cfg.SecureCookies())
	req, _ := http.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: sc.Name(), Value: value})
	tok := sc.Token(req)
	if tok == "" {
		t.Fatal("the session cookie does not open with the server's key")
	}
	return tok
}

// setSignin stores the sign-in methods group directly (the settings
// endpoint has guards these tests do not care about).
func setSignin(t *testing.T, app *testkit.App, username, email bool) {
	t.Helper()
	ctx := context.Background()
	raw := fmt.Sprintf(`{"usernameEnabled":%t,"emailEnabled":%t,"thirdPartyEnabled":false}`, username, email)
	if _, err := app.Svc.DB.NewDelete().Model((*models.Setting)(nil)).Where("group_name = ?", service.GroupSignin).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Svc.DB.NewInsert().Model(&models.Setting{Group: service.GroupSignin, Value: raw, Version: 1, UpdatedAt: app.Clock.Now()}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	app.Svc.Settings.Invalidate(service.GroupSignin)
}

// mySessions lists the caller's sessions.
type sessionItem struct {
	ID      string `json:"id"`
	Current bool   `json:"current"`
	IP      string `json:"ip"`
	Method  string `json:"method"`
}

func mySessions(c *testkit.Client) []sessionItem {
	var body struct {
		Items []sessionItem `json:"items"`
	}
	c.GET("/api/me/sessions").Expect(http.StatusOK).JSON(&body)
	return body.Items
}

func currentSessionID(t *testing.T, c *testkit.Client) string {
	t.Helper()
	for _, s := range mySessions(c) {
		if s.Current {
			return s.ID
		}
	}
	t.Fatal("no session is marked current")
	return ""
}

// expectError checks status and error code of an error answer, and that it
// has the one error shape.
func expectError(t *testing.T, r *testkit.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("%s %s: %d %q, want %d %q; body %s", r.Req.Method, r.Req.URL.Path, r.Status, r.ErrorCode(), status, code, r.Body)
	}
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &shape); err != nil || shape.Error.Message == "" {
		t.Fatalf("%s %s: not in the error shape: %s", r.Req.Method, r.Req.URL.Path, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: error with content type %q", r.Req.Method, r.Req.URL.Path, ct)
	}
}

// signedInWithWriteTimeout serves app's handler with the server write
// timeout limit (as production sets http.Server.WriteTimeout; the test
// app's server has none) and answers its URL and a client signed in as u.
func signedInWithWriteTimeout(t *testing.T, app *testkit.App, limit time.Duration, u *testkit.User) (string, *http.Client) {
	t.Helper()
	hs := httptest.NewUnstartedServer(app.Server.Handler)
	hs.Config.WriteTimeout = limit
	hs.Start()
	t.Cleanup(hs.Close)
	login, err := json.Marshal(map[string]string{"identifier": u.Username, "password": u.Password})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Post(hs.URL+"/api/auth/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return hs.URL, client
}

// silentServer accepts TCP connections on loopback and never answers (a
// server that hangs after the handshake); it keeps every byte the clients
// send (received), tells on accepted each time a client connects and on
// hungUp each time one hangs up, and closes everything when the test ends.
func silentServer(t *testing.T) (addr *net.TCPAddr, received func() string, accepted, hungUp <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone, came := make(chan struct{}, 64), make(chan struct{}, 64)
	var mu sync.Mutex
	var conns []net.Conn
	var got strings.Builder
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case came <- struct{}{}:
			default:
			}
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					mu.Lock()
					got.Write(buf[:n])
					mu.Unlock()
					if err != nil {
						break
					}
				}
				select {
				case gone <- struct{}{}:
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr), func() string {
		mu.Lock()
		defer mu.Unlock()
		return got.String()
	}, came, gone
}
