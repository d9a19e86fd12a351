package cli_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/models"
)

// TestOIDCProvider_KeysRotateCLI: `gatehouse keys rotate` makes a new
// signing key and keeps the old one published.
func TestOIDCProvider_KeysRotateCLI(t *testing.T) {
	dir := t.TempDir()
	svc := open(t, dir)
	ctx := context.Background()
	before, err := svc.OIDC.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "", "--data", dir, "keys", "rotate").expect(t, 0)
	if !strings.Contains(r.stdout, "New signing key") || !strings.Contains(r.stdout, before.ID()) {
		t.Fatalf("output %q", r.stdout)
	}
	keys, err := models.PublishedKeys(ctx, svc.DB, svc.Now())
	if err != nil || len(keys) != 2 || keys[0].RetiredAt != nil == (keys[1].RetiredAt != nil) {
		t.Fatalf("published keys after rotate: %d %v", len(keys), err)
	}
	run(t, "", "--data", dir, "keys").expect(t, 2)
}
