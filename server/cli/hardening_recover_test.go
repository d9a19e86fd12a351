package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
)

// storeSignin writes the sign-in methods straight into the database, past
// the console's guards: the state a platform is in when it needs recover.
func storeSignin(t *testing.T, svc *service.Services, username, email, thirdParty bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.DB.NewDelete().Model((*models.Setting)(nil)).Where("group_name = ?", service.GroupSignin).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	raw := `{"usernameEnabled":` + tf(username) + `,"emailEnabled":` + tf(email) + `,"thirdPartyEnabled":` + tf(thirdParty) + `}`
	if _, err := svc.DB.NewInsert().Model(&models.Setting{Group: service.GroupSignin, Value: raw, Version: 1, UpdatedAt: time.Now()}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Settings.Invalidate(service.GroupSignin)
}

func tf(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestHardening_AdminRecover: with every password method off and the only
// administrator suspended, locked and holding a lost authenticator,
// `gatehouse admin recover` makes them able to sign in with a password,
// says what it changed and audits it; it refuses other accounts.
func TestHardening_AdminRecover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	run(t, "", "--data", dir, "admin", "create", "--username", "bob", "--password", goodPassword, "--role", "user").expect(t, 0)
	svc := open(t, dir)
	storeSignin(t, svc, false, false, true)
	future := time.Now().Add(time.Hour)
	if _, err := svc.DB.NewUpdate().Model((*models.User)(nil)).Where("username = ?", "alice").
		Set("status = ?", models.StatusSuspended).Set("locked_until = ?", future).Set("failed_logins = 12").
		Set("totp_secret = ?", "x").Set("totp_enabled_at = ?", future).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if canSignIn(svc, "alice", goodPassword) {
		t.Fatal("alice can sign in before recovery")
	}

	// Not for ordinary accounts, nor unknown ones; nothing changes.
	r := run(t, "", "--data", dir, "admin", "recover", "bob", "--password", "Another-Good-Passphrase-7").expect(t, 1)
	if !strings.Contains(r.stderr, "administrators") {
		t.Fatalf("stderr %q", r.stderr)
	}
	run(t, "", "--data", dir, "admin", "recover", "nobody", "--password", "Another-Good-Passphrase-7").expect(t, 1)
	r = run(t, "", "--data", dir, "admin", "recover", "alice", "--password", "short").expect(t, 1)
	if !strings.Contains(r.stderr, "password:") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if s, _ := svc.Settings.Signin(ctx); s.UsernameEnabled {
		t.Fatal("a refused recover turned username sign-in on")
	}

	const fresh = "Recovered-Passphrase-93"
	r = run(t, fresh+"\n", "--data", dir, "admin", "recover", "alice", "--reset-2fa").expect(t, 0)
	for _, want := range []string{"password set", "failed sign-ins cleared", "status suspended -> active", "two-factor", "username sign-in turned on", "can sign in"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, fresh) {
		t.Fatal("the password was echoed")
	}
	svc = open(t, dir)
	if !canSignIn(svc, "alice", fresh) {
		t.Fatal("alice cannot sign in after recovery")
	}
	u := user(t, svc, "alice")
	if u.Status != models.StatusActive || u.TwoFactorEnabled() || u.LockedUntil != nil && u.LockedUntil.After(time.Now()) {
		t.Fatalf("alice after recovery: %s 2fa=%v locked=%v", u.Status, u.TwoFactorEnabled(), u.LockedUntil)
	}
	var rows []models.AuditEvent
	if err := svc.DB.NewSelect().Model(&rows).Where("action = ?", service.ActionAdminRecoveredShell).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ActorUsername != "cli" || rows[0].TargetLabel != "alice" {
		t.Fatalf("audit %+v", rows)
	}

	// With a password method on already, recover leaves the settings be.
	storeSignin(t, svc, false, true, false) // email only, and alice has no email
	r = run(t, "", "--data", dir, "admin", "recover", "alice", "--password", fresh+"x").expect(t, 0)
	if !strings.Contains(r.stdout, "username sign-in turned on") {
		t.Fatalf("email-only without an address: %s", r.stdout)
	}
	r = run(t, "", "--data", dir, "admin", "recover", "alice", "--password", fresh+"y").expect(t, 0)
	if strings.Contains(r.stdout, "username sign-in") || strings.Contains(r.stdout, "status") {
		t.Fatalf("second recover changed more than the password: %s", r.stdout)
	}
}

// TestHardening_AdminCreateSaysWhenItCannotSignIn: the shell tells the
// operator that a new account's password is of no use while no password
// method is on, and how to fix it.
func TestHardening_AdminCreateSaysWhenItCannotSignIn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	if strings.Contains(r.stderr, "cannot sign in") {
		t.Fatalf("warned with username sign-in on: %q", r.stderr)
	}
	storeSignin(t, open(t, dir), false, false, true)
	r = run(t, "", "--data", dir, "admin", "create", "--username", "carol", "--password", goodPassword).expect(t, 0)
	if !strings.Contains(r.stderr, "cannot sign in") || !strings.Contains(r.stderr, "admin recover carol") {
		t.Fatalf("stderr %q", r.stderr)
	}
	r = run(t, "", "--data", dir, "admin", "create", "--username", "dan", "--password", goodPassword, "--role", "user").expect(t, 0)
	if !strings.Contains(r.stderr, "cannot sign in") || strings.Contains(r.stderr, "recover") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// TestHardening_AdminUnknownSubcommand: usage errors exit 2, as README says.
func TestHardening_AdminUnknownSubcommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--data", dir, "admin", "frobnicate"},
		{"--data", dir, "admin"},
		{"--data", dir, "admin", "recover"},
		{"--data", dir, "admin", "recover", "a", "b"},
	} {
		if r := run(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
