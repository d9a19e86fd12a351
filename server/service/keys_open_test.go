package service

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server/security"
)

// openSealed, which every read of a stored secret on a request path goes
// through (the TOTP secret and a pending one, the SMTP password, the
// Turnstile secret, a provider's client secret and PKCE verifier, the
// OpenID Provider's signing key): a value the database's key opens, a
// value re-encrypted under this instance by another process's `key
// rotate` (ErrSecretKeyChanged, a 503), and a value that does not open
// although the key is unchanged (its own error: a real fault).
func TestOpenSealed_KeyChangedUnderTheInstance(t *testing.T) {
	ctx := context.Background()
	db, err := models.OpenSQLite(t.TempDir() + "/g.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Run(ctx, db); err != nil {
		t.Fatal(err)
	}
	box := func() *security.SecretBox {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		b, err := security.NewSecretBox(raw)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	old, next := box(), box()
	d := Deps{DB: db, Box: old}
	if _, err := models.RecordSecretKeyFingerprint(ctx, db, security.KeyFingerprint(old.Key()), time.Now()); err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.Seal("s3cret")
	if got, err := d.openSealed(ctx, nil, sealed); err != nil || got != "s3cret" {
		t.Fatalf("open with the database's key: %q, %v", got, err)
	}
	foreign, _ := next.Seal("other")
	if _, err := d.openSealed(ctx, nil, foreign); err == nil || err == ErrSecretKeyChanged {
		t.Fatalf("a value that does not open under the unchanged key: %v, want its own error", err)
	}
	if _, err := RotateKey(ctx, db, old, next, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.openSealed(ctx, nil, foreign); err != ErrSecretKeyChanged {
		t.Fatalf("after the rotation: %v, want ErrSecretKeyChanged", err)
	}
}
