package cli_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

func randomKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// An instance with another secret key than the one the database was set
// up with refuses to start (serve and the shell commands alike) and says
// what to do; it used to start, and its cookies and TOTP sign-ins failed.
func TestHardening_KeyMismatchRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	other := "GATEHOUSE_SECRET_KEY=" + randomKey(t)
	code, out := gatehouseProc(t, []string{other}, "--data", dir, "admin", "unlock", "alice")
	if code != 1 || !strings.Contains(out, "secret key") || !strings.Contains(out, "GATEHOUSE_SECRET_KEY") {
		t.Fatalf("admin unlock with another key: exit %d\n%s", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "--data", dir, "serve", "--http", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runAsBinary+"=1", other)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || ctx.Err() != nil || !strings.Contains(string(b), "secret key") {
		t.Fatalf("serve with another key: %v\n%s", err, b)
	}
	// The right key still works.
	run(t, "", "--data", dir, "admin", "unlock", "alice").expect(t, 0)
}

// `gatehouse key rotate` re-encrypts every stored secret under a new key in
// one transaction and records the new fingerprint: the old key is refused
// afterwards, TOTP sign-in works with the new one, and an instance still
// running with the old key refuses requests (503 secret_key_changed).
func TestHardening_KeyRotate(t *testing.T) {
	t.Parallel()
	keyRotate(t, "")
}

func TestHardening_KeyRotatePostgres(t *testing.T) {
	admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL")
	if admin == "" {
		t.Skip("GATEHOUSE_TEST_DATABASE_URL not set (make test-go-postgres runs this)")
	}
	t.Parallel()
	keyRotate(t, testkit.FreshPostgres(t, admin))
}

func keyRotate(t *testing.T, dbURL string) {
	dir := t.TempDir()
	ctx := context.Background()
	svc := openDB(t, dir, dbURL)
	data := []string{"--data", dir}
	if dbURL != "" {
		data = append(data, "--database-url", dbURL)
	}
	run := func(t *testing.T, stdin string, args ...string) result {
		return run(t, stdin, append(data, args[2:]...)...)
	}
	gatehouseProc := func(t *testing.T, env []string, args ...string) (int, string) {
		return gatehouseProc(t, env, append(data, args[2:]...)...)
	}
	open := func(t *testing.T, _ string) *service.Services { return openDB(t, dir, dbURL) }
	oldKey, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	run(t, "", "--data", dir, "admin", "create", "--username", "root", "--password", goodPassword).expect(t, 0)
	const totp = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	sealed, err := svc.Box.Seal(totp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DB.NewUpdate().Model((*models.User)(nil)).Where("username = ?", "root").
		Set("totp_secret = ?", sealed).Set("totp_enabled_at = ?", time.Now()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	smtp, _ := svc.Box.Seal("smtp-password")
	if err := svc.Settings.Store(ctx, service.GroupEmail, service.EmailSettings{Host: "smtp.example.com", Port: 587, TLSMode: "starttls", SenderAddress: "a@example.com", PasswordSealed: smtp}); err != nil {
		t.Fatal(err)
	}
	ts, _ := svc.Box.Seal("turnstile-secret")
	if err := svc.Settings.Store(ctx, service.GroupHumanVerification, service.HumanVerification{SiteKey: "site", SecretSealed: ts}); err != nil {
		t.Fatal(err)
	}
	root := user(t, svc, "root")
	str := func(s string) *string { return &s }
	if _, err := svc.Providers.Create(ctx, service.Actor{User: root}, service.ProviderInput{
		Slug: str("corp"), Name: str("Corp"), Type: str(models.ProviderOAuth2), ClientID: str("cid"), ClientSecret: str("client-secret"),
		AuthorizationURL: str("https://idp.example.com/auth"), TokenURL: str("https://idp.example.com/token"), UserinfoURL: str("https://idp.example.com/me"),
	}); err != nil {
		t.Fatal(err)
	}
	// A webhook endpoint whose secret was rotated: its current and its
	// previous secret are both sealed (both sign while the rotation lasts).
	url, on := "https://hooks.example.org/in", true
	events := []string{service.EventAccountStatusChanged}
	ep, _, err := svc.Webhooks.Create(ctx, service.Actor{User: root}, service.WebhookEndpointInput{URL: &url, Events: &events, Enabled: &on})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Webhooks.RotateSecret(ctx, service.Actor{User: root}, ep.PublicID); err != nil {
		t.Fatal(err)
	}
	svc.Webhooks.Close()
	if err := svc.Settings.Sync(ctx); err != nil {
		t.Fatalf("sync before the rotation: %v", err)
	}
	stored := testkit.SealedInDatabase(t, svc.DB)

	r := run(t, "", "--data", dir, "key", "rotate").expect(t, 0)
	// 4, the webhook endpoint's two, and the OpenID Provider's signing key
	// made at the first start.
	if !strings.Contains(r.stdout, "Re-encrypted 7 secret") {
		t.Fatalf("rotate output: %q", r.stdout)
	}
	newKey, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	prev, _ := os.ReadFile(filepath.Join(dir, "secret.key.previous"))
	if string(newKey) == string(oldKey) || string(prev) != string(oldKey) {
		t.Fatal("secret.key was not replaced, or the previous key was not kept as secret.key.previous")
	}

	// The old key no longer opens the data directory.
	code, out := gatehouseProc(t, []string{"GATEHOUSE_SECRET_KEY=" + strings.TrimSpace(string(oldKey))}, "--data", dir, "admin", "unlock", "root")
	if code != 1 || !strings.Contains(out, "secret key") {
		t.Fatalf("old key after rotate: exit %d\n%s", code, out)
	}
	// The instance still running with the old key refuses requests.
	var pe *problem.Error
	if err := svc.Settings.Sync(ctx); !errors.As(err, &pe) || pe.Code != "secret_key_changed" || pe.Kind != problem.Unavailable {
		t.Fatalf("old instance after rotate: %v", err)
	}

	// Every secret opens with the new key only.
	svc2 := open(t, dir)
	u := user(t, svc2, "root")
	email, _ := svc2.Settings.Email(ctx)
	human, _ := svc2.Settings.HumanVerification(ctx)
	var p models.IdentityProvider
	if err := svc2.DB.NewSelect().Model(&p).Where("slug = ?", "corp").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	old, _ := security.NewSecretBox(mustKey(t, string(oldKey)))
	for want, sealed := range map[string]string{totp: *u.TOTPSecret, "smtp-password": email.PasswordSealed, "turnstile-secret": human.SecretSealed, "client-secret": p.ClientSecretSealed} {
		if got, err := svc2.Box.Open(sealed); err != nil || got != want {
			t.Errorf("%s under the new key: %q %v", want, got, err)
		}
		if _, err := old.Open(sealed); err == nil {
			t.Errorf("%s still opens with the old key", want)
		}
	}
	// Whatever else is sealed anywhere in the database (any table, any
	// column, inside settings JSON too) opens with the new key and not the
	// old: a sealed column that key rotate does not know of shows here.
	after := testkit.SealedInDatabase(t, svc2.DB)
	if len(after) < len(stored) || len(stored) < 7 {
		t.Fatalf("sealed values: %d before the rotation, %d after", len(stored), len(after))
	}
	for _, v := range after {
		if _, err := svc2.Box.Open(v.Sealed); err != nil {
			t.Errorf("%s does not open with the new key: %v", v.Where, err)
		}
		if _, err := old.Open(v.Sealed); err == nil {
			t.Errorf("%s still opens with the old key", v.Where)
		}
	}
	// TOTP sign-in works after the rotation.
	_, challenge, err := svc2.Auth.Login(ctx, service.Actor{IP: "127.0.0.1"}, "root", goodPassword)
	if err != nil || challenge == "" {
		t.Fatalf("login: %q %v", challenge, err)
	}
	code6, _ := security.TOTPCode(totp, security.TOTPStep(time.Now()))
	if _, err := svc2.Auth.CompleteMFA(ctx, service.Actor{IP: "127.0.0.1"}, challenge, code6); err != nil {
		t.Fatalf("TOTP sign-in after rotate: %v", err)
	}
}

func mustKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := security.LoadOrCreateKey(strings.TrimSpace(s), "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// With the key in GATEHOUSE_SECRET_KEY, `key rotate` needs --new-key-file
// (a usage error without it, nothing changed); given a file that does not
// exist, it writes a new key there and the database takes it: the old key
// is refused afterwards and the new one opens the data directory. A second
// rotation reads the key already in the file it is given.
func TestHardening_KeyRotateNewKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1 := "GATEHOUSE_SECRET_KEY=" + randomKey(t)
	if code, out := gatehouseProc(t, []string{k1}, "--data", dir, "admin", "create", "--username", "root", "--password", goodPassword); code != 0 {
		t.Fatalf("admin create: exit %d\n%s", code, out)
	}
	if code, out := gatehouseProc(t, []string{k1}, "--data", dir, "key", "rotate"); code != 2 || !strings.Contains(out, "--new-key-file") {
		t.Fatalf("rotate without --new-key-file: exit %d\n%s", code, out)
	}
	if code, out := gatehouseProc(t, []string{k1}, "--data", dir, "admin", "unlock", "root"); code != 0 {
		t.Fatalf("the refused rotation changed the key: exit %d\n%s", code, out)
	}

	file := filepath.Join(t.TempDir(), "next.key")
	code, out := gatehouseProc(t, []string{k1}, "--data", dir, "key", "rotate", "--new-key-file", file)
	if code != 0 || !strings.Contains(out, "written to "+file) {
		t.Fatalf("rotate --new-key-file: exit %d\n%s", code, out)
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	k2 := "GATEHOUSE_SECRET_KEY=" + strings.TrimSpace(string(written))
	if code, out := gatehouseProc(t, []string{k1}, "--data", dir, "admin", "unlock", "root"); code != 1 || !strings.Contains(out, "secret key") {
		t.Fatalf("the old key after rotate: exit %d\n%s", code, out)
	}
	if code, out := gatehouseProc(t, []string{k2}, "--data", dir, "admin", "unlock", "root"); code != 0 {
		t.Fatalf("the written key after rotate: exit %d\n%s", code, out)
	}

	// A file that exists: its key is the new one.
	k3 := randomKey(t)
	file3 := filepath.Join(t.TempDir(), "third.key")
	if err := os.WriteFile(file3, []byte(k3+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := gatehouseProc(t, []string{k2}, "--data", dir, "key", "rotate", "--new-key-file", file3); code != 0 {
		t.Fatalf("rotate to a given key: exit %d\n%s", code, out)
	}
	if code, out := gatehouseProc(t, []string{"GATEHOUSE_SECRET_KEY=" + k3}, "--data", dir, "admin", "unlock", "root"); code != 0 {
		t.Fatalf("the given key after rotate: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err == nil {
		t.Fatal("a key file appeared in the data directory although the key comes from the environment")
	}
}

// --redis-required and GATEHOUSE_REDIS_REQUIRED=true each make serve refuse
// to start while Redis does not answer, naming the flag (without either it
// starts with rate limits counted in memory: redisstore's
// TestGuarded_RedisDownAtStart).
func TestHardening_RedisRequiredFlagAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "root", "--password", goodPassword).expect(t, 0)
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"--redis-required"}},
		{"env", []string{"GATEHOUSE_REDIS_REQUIRED=true"}, nil},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a hang guard
		args := append([]string{"--data", dir, "serve", "--http", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1/0"}, c.args...)
		cmd := exec.CommandContext(ctx, os.Args[0], args...)
		cmd.Env = append(append(os.Environ(), runAsBinary+"=1"), c.env...)
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "--redis-required") {
			t.Errorf("%s: serve with Redis down: %v\n%s", c.name, err, out)
		}
	}
}
