package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// An instance still running with the old key after another process ran
// `gatehouse key rotate` refuses requests over HTTP: every API call (a
// signed-in list, a sign-in) answers 503 secret_key_changed with
// Retry-After, and /api/ready fails so a load balancer takes it out; an
// instance started with the new key serves, and a sign-in there works.
func TestHardening_KeyRotateOldInstanceAnswers503(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	c := app.LoginAs(root)
	c.GET("/api/admin/users").Expect(http.StatusOK)
	app.Client().GET("/api/ready").Expect(http.StatusOK)

	next, raw := newSecretKey(t)
	if _, err := service.RotateKey(context.Background(), app.Svc.DB, app.Svc.Box, next, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}

	for _, r := range []*testkit.Response{
		c.GET("/api/admin/users"),
		app.Client().POST("/api/auth/login", map[string]string{"identifier": root.Username, "password": root.Password}),
		app.Client().GET("/api/ready"),
	} {
		if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "secret_key_changed" || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s on the old key: %d %s (Retry-After %q)", r.Req.Method, r.Req.URL.Path, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}

	// The same database with the new key: another instance serves.
	if err := os.WriteFile(app.Cfg.KeyPath(), []byte(base64.StdEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := app.Instance()
	fresh.Client().GET("/api/ready").Expect(http.StatusOK)
	fresh.LoginAs(root).GET("/api/admin/users").Expect(http.StatusOK)
}

// newSecretKey makes a random secret key: its box and its bytes.
func newSecretKey(t *testing.T) (*security.SecretBox, []byte) {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	box, err := security.NewSecretBox(raw)
	if err != nil {
		t.Fatal(err)
	}
	return box, raw
}
