package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// legacyHash is an argon2id hash of password exactly as given, as hashes
// were made before passwords were NFKC-normalised.
func legacyHash(password string) string {
	p := testkit.FastArgon2
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Issue 13 item 18: a password typed with full-width letters or a
// ligature is the same password as its NFKC form, at sign-in, at
// re-authentication and when it is set.
func TestHardening_PasswordsAreNFKCNormalised(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	wide := "Ｍｅａｄｏｗ-ﬁeld-Ｃｏｐｐｅｒ-4417" // full-width letters and the "fi" ligature
	plain := "Meadow-field-Copper-4417"
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@example.com", Password: wide})
	app.Client().POST("/api/auth/login", creds("alice", plain)).Expect(http.StatusOK)
	c := app.LoginAs(alice)
	// The new password differs only by normalisation: it is the same one.
	r := c.POST("/api/me/password", map[string]string{"currentPassword": plain, "newPassword": wide})
	if r.Status != http.StatusUnprocessableEntity || r.Fields()["newPassword"] == "" {
		t.Fatalf("same password in another form: %d %s", r.Status, r.Body)
	}
	c.POST("/api/me/password", map[string]string{"currentPassword": plain, "newPassword": "Ｓｔｏｎｅ-Ｒｉｖｅｒ-2026"}).Expect(http.StatusNoContent)
	app.Client().POST("/api/auth/login", creds("alice", "Stone-River-2026")).Expect(http.StatusOK)
}

// A hash made from the un-normalised input still verifies, and is
// replaced on that sign-in by the hash of the normalised form.
func TestHardening_LegacyUnnormalisedHashStillVerifies(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	raw := "Ｍｅａｄｏｗ-ﬁeld-Ｃｏｐｐｅｒ-4417"
	old := legacyHash(raw)
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = ?", old).Where("id = ?", alice.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	app.Client().POST("/api/auth/login", creds("alice", raw)).Expect(http.StatusOK)
	if h := *app.Reload(alice).PasswordHash; h == old {
		t.Fatal("legacy hash not replaced after a successful sign-in")
	}
	// Now the normalised form works too, and the raw form still does.
	app.Client().POST("/api/auth/login", creds("alice", "Meadow-field-Copper-4417")).Expect(http.StatusOK)
	app.Client().POST("/api/auth/login", creds("alice", raw)).Expect(http.StatusOK)
	expectError(t, app.Client().POST("/api/auth/login", creds("alice", "Meadow-field-Copper-4418")), http.StatusUnauthorized, "invalid_credentials")
}

// One repeated character or only whitespace is refused with a field
// error wherever a password is set; long, Unicode and spaced ones work.
func TestHardening_TrivialPasswordsAreRefused(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	admin := app.LoginAs(app.Admin("ada"))
	for _, pw := range []string{strings.Repeat("a", 12), strings.Repeat("Ｚ", 10), strings.Repeat(" ", 12), " \u3000  \u00a0   \u2003 ", strings.Repeat("7", 40)} {
		r := c.POST("/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": pw})
		if r.Status != http.StatusUnprocessableEntity || (r.Fields()["newPassword"] != service.MsgPasswordRepeated && r.Fields()["newPassword"] != service.MsgPasswordOnlySpaces) {
			t.Fatalf("%q: %d %s", pw, r.Status, r.Body)
		}
		r = admin.POST("/api/admin/users", map[string]any{"username": "bob", "email": "bob@example.com", "password": pw})
		if r.Status != http.StatusUnprocessableEntity || r.Fields()["password"] == "" {
			t.Fatalf("create with %q: %d %s", pw, r.Status, r.Body)
		}
	}
	long := ""
	for len([]rune(long)) < 128 {
		long += "Zebra Ünïcödé 密码 "
	}
	long = string([]rune(long)[:128])
	current := alice.Password
	for _, pw := range []string{long, "correct horse battery staple", "Пароль с пробелами 2026", "  padded secret phrase  "} {
		c.POST("/api/me/password", map[string]string{"currentPassword": current, "newPassword": pw}).Expect(http.StatusNoContent)
		app.Client().POST("/api/auth/login", creds("alice", pw)).Expect(http.StatusOK)
		current = pw
	}
}
