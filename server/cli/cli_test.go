package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server"
	"gatehouse/server/cli"
	"gatehouse/server/config"
	"gatehouse/server/service"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := cli.RunContext(context.Background(), args, strings.NewReader(stdin), &out, &errb, nil)
	return result{code, out.String(), errb.String()}
}

func (r result) expect(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// open opens the data directory the way the server does and returns its
// services; the database closes with the test.
func open(t *testing.T, dir string) *service.Services { return openDB(t, dir, "") }

// openDB is open with a database URL (PostgreSQL) instead of SQLite.
func openDB(t *testing.T, dir, dbURL string) *service.Services {
	t.Helper()
	cfg := &config.Config{DataDir: dir, DatabaseURL: dbURL}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	db, box, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := server.New(db, box, server.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return srv.Svc
}

func user(t *testing.T, svc *service.Services, name string) *models.User {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), svc.DB, name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u
}

func canSignIn(svc *service.Services, name, password string) bool {
	_, _, err := svc.Auth.Login(context.Background(), service.Actor{IP: "127.0.0.1"}, name, password)
	return err == nil
}

const goodPassword = "Vivid-Orbit-Tangerine-42"

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, "", "version").expect(t, 0)
	if !strings.HasPrefix(r.stdout, "gatehouse "+cli.Version+"\n") {
		t.Fatalf("version printed %q", r.stdout)
	}
	if r := run(t, "", "--version").expect(t, 0); !strings.Contains(r.stdout, cli.Version) {
		t.Fatalf("--version printed %q", r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"nope"},
		{"--nope"},
		{"--data", dir, "admin", "create", "--bogus"},
		{"--data", dir, "admin", "unlock"},
		{"--data", dir, "admin", "unlock", "a", "b"},
		{"--data", dir, "admin", "reset-password"},
		{"--data", dir, "backup"},
		{"version", "extra"},
		{"--data", dir, "serve", "--http"},
		{"--data", dir, "admin", "create", "--password", goodPassword}, // no --username
	} {
		r := run(t, "", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\nstderr: %s", args, r.code, r.stderr)
		}
		if r.stderr == "" {
			t.Errorf("%v: nothing on stderr", args)
		}
	}
	// No stray files from refused commands.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("usage errors created %d files in the data directory", len(entries))
	}
}

func TestAdminCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Password on standard input.
	r := run(t, goodPassword+"\n", "--data", dir, "admin", "create", "--username", "alice", "--email", "alice@example.com").expect(t, 0)
	if !strings.Contains(r.stdout, `Created super_admin "alice"`) {
		t.Fatalf("stdout %q", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, goodPassword) {
		t.Fatal("the password was echoed")
	}
	// Password by flag, other role; stdin without a final newline and with CRLF.
	run(t, "", "--data", dir, "admin", "create", "--username", "bob", "--password", goodPassword, "--role", "user").expect(t, 0)
	run(t, goodPassword, "--data", dir, "admin", "create", "--username", "carol", "--role", "admin").expect(t, 0)
	run(t, goodPassword+"\r\n", "--data", dir, "admin", "create", "--username", "dave", "--role", "admin").expect(t, 0)

	// Weak password: exit 1 with the field message, nothing created.
	r = run(t, "short\n", "--data", dir, "admin", "create", "--username", "erin").expect(t, 1)
	if !strings.Contains(r.stderr, "password: must be at least 10 characters") {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = run(t, "", "--data", dir, "admin", "create", "--username", "erin", "--password", "password123").expect(t, 1)
	if !strings.Contains(r.stderr, "password:") || !strings.Contains(r.stderr, "common") {
		t.Fatalf("stderr %q", r.stderr)
	}
	// Duplicate name, bad role, bad email.
	r = run(t, "", "--data", dir, "admin", "create", "--username", "ALICE", "--password", goodPassword).expect(t, 1)
	if !strings.Contains(r.stderr, "username: is already taken") {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = run(t, "", "--data", dir, "admin", "create", "--username", "frank", "--password", goodPassword, "--role", "god").expect(t, 1)
	if !strings.Contains(r.stderr, "role:") {
		t.Fatalf("stderr %q", r.stderr)
	}
	// No password at all.
	run(t, "", "--data", dir, "admin", "create", "--username", "gina").expect(t, 2)

	svc := open(t, dir)
	for name, role := range map[string]string{"alice": models.RoleSuperAdmin, "bob": models.RoleUser, "carol": models.RoleAdmin, "dave": models.RoleAdmin} {
		u := user(t, svc, name)
		if u.Role != role || u.Status != models.StatusActive {
			t.Errorf("%s: role %s status %s", name, u.Role, u.Status)
		}
		if !canSignIn(svc, name, goodPassword) {
			t.Errorf("%s cannot sign in with the password given", name)
		}
	}
	if n, _ := models.CountUsers(context.Background(), svc.DB); n != 4 {
		t.Fatalf("%d accounts, want 4", n)
	}
	if u := user(t, svc, "alice"); u.Email == nil || *u.Email != "alice@example.com" {
		t.Fatalf("alice's email %v", u.Email)
	}
	// The key file was created private.
	if st, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v %v", st, err)
	}
}

func TestAdminResetPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	svc := open(t, dir)
	res, _, err := svc.Auth.Login(context.Background(), service.Actor{}, "alice", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Auth.Authenticate(context.Background(), res.Token); err != nil {
		t.Fatal(err)
	}
	// The command works while another process has the database open.
	const next = "Second-Vivid-Orbit-77"
	r := run(t, next+"\n", "--data", dir, "admin", "reset-password", "alice").expect(t, 0)
	if !strings.Contains(r.stdout, "alice") {
		t.Fatalf("stdout %q", r.stdout)
	}
	if _, _, err := svc.Auth.Authenticate(context.Background(), res.Token); err == nil {
		t.Fatal("the session survived a password reset")
	}
	if canSignIn(svc, "alice", goodPassword) || !canSignIn(svc, "alice", next) {
		t.Fatal("old password works or new one does not")
	}
	// By email or public ID too, and the flag form.
	u := user(t, svc, "alice")
	run(t, "", "--data", dir, "admin", "reset-password", u.PublicID, "--password", "Third-Vivid-Orbit-77").expect(t, 0)
	if !canSignIn(svc, "alice", "Third-Vivid-Orbit-77") {
		t.Fatal("reset by public ID did not take")
	}
	// Weak password and unknown account: exit 1, nothing changed.
	r = run(t, "", "--data", dir, "admin", "reset-password", "alice", "--password", "short").expect(t, 1)
	if !strings.Contains(r.stderr, "password: must be at least 10 characters") {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = run(t, "", "--data", dir, "admin", "reset-password", "nobody", "--password", goodPassword).expect(t, 1)
	if !strings.Contains(r.stderr, "not found") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if !canSignIn(svc, "alice", "Third-Vivid-Orbit-77") {
		t.Fatal("a refused reset changed the password")
	}
}

func TestAdminUnlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	svc := open(t, dir)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	if _, err := svc.DB.NewUpdate().Model((*models.User)(nil)).Set("failed_logins = 10").Set("locked_until = ?", until).Where("username = ?", "alice").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if canSignIn(svc, "alice", goodPassword) {
		t.Fatal("fixture: the lock does not hold")
	}
	r := run(t, "", "--data", dir, "admin", "unlock", "ALICE").expect(t, 0)
	if !strings.Contains(r.stdout, `Unlocked "alice"`) {
		t.Fatalf("stdout %q", r.stdout)
	}
	u := user(t, svc, "alice")
	if u.FailedLogins != 0 || u.LockedUntil != nil {
		t.Fatalf("after unlock: failed_logins=%d locked_until=%v", u.FailedLogins, u.LockedUntil)
	}
	if !canSignIn(svc, "alice", goodPassword) {
		t.Fatal("cannot sign in after unlock")
	}
	var rows []models.AuditEvent
	if err := svc.DB.NewSelect().Model(&rows).Where("action = ?", service.ActionUnlockedByShell).Scan(ctx); err != nil || len(rows) != 1 || rows[0].ActorUsername != "cli" {
		t.Fatalf("unlock audit rows %+v %v", rows, err)
	}
	run(t, "", "--data", dir, "admin", "unlock", "nobody").expect(t, 1)
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := run(t, "", "--data", dir, "migrate").expect(t, 0)
	if !strings.Contains(r.stdout, "Applied") {
		t.Fatalf("first migrate: %q", r.stdout)
	}
	r = run(t, "", "--data", dir, "migrate").expect(t, 0)
	if !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("second migrate: %q", r.stdout)
	}
	// The migrated database is usable.
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	r = run(t, "", "--data", dir, "migrate").expect(t, 0)
	if !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("third migrate: %q", r.stdout)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "backup.db")
	r := run(t, "", "--data", dir, "backup", out)
	if r.code == 0 {
		t.Fatal("backup of a data directory without a database succeeded")
	}
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	run(t, "", "--data", dir, "admin", "create", "--username", "bob", "--password", goodPassword, "--role", "user").expect(t, 0)
	svc := open(t, dir) // a running server holds the database open meanwhile

	r = run(t, "", "--data", dir, "backup", out).expect(t, 0)
	if !strings.Contains(r.stdout, out) {
		t.Fatalf("stdout %q", r.stdout)
	}
	head := make([]byte, 16)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Read(head)
	f.Close()
	if string(head) != "SQLite format 3\x00" {
		t.Fatalf("backup is not a SQLite file: %q", head)
	}
	db, err := models.OpenSQLite(out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	if err := db.NewSelect().Model((*models.User)(nil)).Column("username").Order("username").Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "alice,bob" {
		t.Fatalf("backup holds users %v", names)
	}
	var check string
	if err := db.NewRaw("PRAGMA integrity_check").Scan(context.Background(), &check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}

	// An existing file is never overwritten.
	before, _ := os.ReadFile(out)
	run(t, "", "--data", dir, "admin", "create", "--username", "carol", "--password", goodPassword).expect(t, 0)
	r = run(t, "", "--data", dir, "backup", out)
	if r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("backup over an existing file: exit %d, stderr %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("the existing file was changed")
	}
	_ = svc
}

func TestServeShutsDownCleanlyAndPrintsTheSetupLink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.RunContext(ctx, []string{"--data", dir, "serve", "--http", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr, nil)
	}()

	linkRe := regexp.MustCompile(`(http://\S+)/setup\?token=([A-Za-z0-9_-]+)`)
	var link []string
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
	for link == nil {
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no setup link printed\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
		link = linkRe.FindStringSubmatch(stdout.String())
		time.Sleep(10 * time.Millisecond)
	}
	base := link[1]
	if strings.HasSuffix(base, ":0") {
		t.Fatalf("the setup link points at port 0: %s", link[0])
	}
	if !strings.Contains(stdout.String(), "listening on 127.0.0.1:") {
		t.Fatalf("stdout %q", stdout.String())
	}
	// The printed link is the way in: the server answers there and takes the token.
	res, err := http.Get(base + "/api/setup/status")
	if err != nil {
		t.Fatal(err)
	}
	var status struct{ Pending bool }
	_ = json.NewDecoder(res.Body).Decode(&status)
	res.Body.Close()
	if !status.Pending {
		t.Fatal("setup not pending on an empty database")
	}
	body := `{"token":"` + link[2] + `","username":"root","password":"` + goodPassword + `"}`
	res, err = http.Post(base+"/api/setup", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("setup with the printed token: %d", res.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after cancel\nstderr: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	if _, err := http.Get(base + "/api/health"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}

	// With an account in the database, no setup link is printed.
	ctx2, cancel2 := context.WithCancel(context.Background())
	var out2, err2 syncBuffer
	done2 := make(chan int, 1)
	go func() {
		done2 <- cli.RunContext(ctx2, []string{"--data", dir, "serve", "--http", "127.0.0.1:0"}, strings.NewReader(""), &out2, &err2, nil)
	}()
	for !strings.Contains(out2.String(), "listening on") {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("second serve did not start: %s %s", out2.String(), err2.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel2()
	if code := <-done2; code != 0 {
		t.Fatalf("second serve exited %d: %s", code, err2.String())
	}
	if strings.Contains(out2.String(), "setup?token=") {
		t.Fatalf("setup link printed although an account exists: %s", out2.String())
	}
}

func TestServeWithCancelledContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr syncBuffer
	code := cli.RunContext(ctx, []string{"--data", dir, "serve", "--http", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr, nil)
	if code != 0 {
		t.Fatalf("serve with a cancelled context exited %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "/setup?token=") {
		t.Fatalf("no setup link printed for an empty database: %s", stdout.String())
	}
}
