package models_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestBulkLoadUsersPG_RowsMatchAnInsert: accounts loaded through COPY (the
// PostgreSQL seed) read back exactly as the same accounts written by
// InsertUserBatch, NULLs, text that COPY must escape (backslash, tab, line
// breaks) and times included; afterwards the indexes and triggers are as
// before and user_counts counts the new rows. PostgreSQL only (make
// test-go-postgres).
func TestBulkLoadUsersPG_RowsMatchAnInsert(t *testing.T) {
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if models.IsSQLite(db) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL (make test-go-postgres)")
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.FixedZone("x", 3600))
	hash, secret, plan := `$argon2id$v=19$m=19456,t=2,p=1$a\b`, "sealed\tsecret", int64(0)
	make3 := func(prefix string) []models.User {
		var us []models.User
		for i, name := range []string{"plain", "odd", "nulls"} {
			u := models.User{PublicID: prefix + name, DisplayName: "Ann \\ O'Neil\t\"x\"\r\n李", Phone: "+1", Language: "en", Timezone: "UTC",
				Preferences: `{"a":"b\\n"}`, Role: models.RoleUser, Status: models.StatusActive, StatusReason: "why\nnot", CreatedAt: at, UpdatedAt: at.Add(time.Hour),
				LastLoginIP: "198.51.100.1", Balance: -5, TOTPLastStep: 7, PasskeyCount: 1, FailedLogins: 2}
			u.SetUsername(prefix + name)
			if i < 2 {
				u.SetEmail(prefix + name + "@Example.com")
				u.EmailVerifiedAt, u.PasswordHash, u.PasswordChangedAt, u.TOTPSecret, u.TOTPEnabledAt = &at, &hash, &at, &secret, &at
				u.LockedUntil, u.SubscriptionExpiresAt, u.LastLoginAt, u.EmailVouched, u.MustChangePassword = &at, &at, &at, true, true
			}
			if i == 1 {
				u.Role, u.Status = models.RoleAdmin, models.StatusSuspended
			}
			us = append(us, u)
		}
		return us
	}
	if err := db.NewSelect().Table("plans").ColumnExpr("coalesce(max(id), 0)").Scan(ctx, &plan); err != nil {
		t.Fatal(err)
	}
	ins, cp := make3("ins"), make3("cp")
	if plan > 0 {
		ins[0].PlanID, cp[0].PlanID = &plan, &plan
	}
	var indexesBefore int
	if err := db.NewRaw("SELECT count(*) FROM pg_indexes WHERE tablename = 'users'").Scan(ctx, &indexesBefore); err != nil {
		t.Fatal(err)
	}
	// Per-column statistics targets of the indexes (migration
	// 20261203000081 gives users_display_cover's key 1,000: the search
	// reads its histogram).
	statTargets := func() string {
		var s string
		if err := db.NewRaw(`SELECT coalesce(string_agg(c.relname || '.' || a.attnum || '=' || a.attstattarget, ' ' ORDER BY c.relname, a.attnum), '')
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = i.indexrelid
WHERE i.indrelid = 'users'::regclass AND a.attstattarget >= 0`).Scan(ctx, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	targetsBefore := statTargets()
	if targetsBefore == "" {
		t.Fatal("no index of users has a statistics target of its own (migration 20261203000081 sets one)")
	}
	if err := models.InsertUserBatch(ctx, db, &ins, true); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := false
	err = models.BulkLoadUsersPG(ctx, conn, nil, func(us []models.User, done int) []models.User {
		if sent {
			return us[:0]
		}
		sent = true
		return cp
	}, nil)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		var a, b models.User
		if err := db.NewSelect().Model(&a).Where("public_id = ?", ins[i].PublicID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.NewSelect().Model(&b).Where("public_id = ?", cp[i].PublicID).Scan(ctx); err != nil {
			t.Fatalf("%s not loaded: %v", cp[i].PublicID, err)
		}
		if b.ID <= a.ID {
			t.Errorf("loaded id %d not from the sequence (inserted %d)", b.ID, a.ID)
		}
		// Same row but for the names the prefix changes.
		b.ID, b.PublicID, b.Username, b.UsernameLower = a.ID, a.PublicID, a.Username, a.UsernameLower
		if a.Email != nil && b.Email != nil {
			b.Email, b.EmailLower = a.Email, a.EmailLower
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("row %d:\ninsert %+v\ncopy   %+v", i, a, b)
		}
	}
	var indexesAfter, disabled int
	if err := db.NewRaw("SELECT count(*) FROM pg_indexes WHERE tablename = 'users'").Scan(ctx, &indexesAfter); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal AND tgenabled = 'D'").Scan(ctx, &disabled); err != nil {
		t.Fatal(err)
	}
	if after := statTargets(); after != targetsBefore {
		t.Errorf("statistics targets of the indexes after the load: %q, before %q", after, targetsBefore)
	}
	if indexesAfter != indexesBefore || disabled != 0 {
		t.Errorf("after the load: %d indexes (before %d), %d triggers disabled", indexesAfter, indexesBefore, disabled)
	}
	var admins int64
	if err := db.NewRaw("SELECT n FROM user_counts WHERE role = 'admin' AND status = 'suspended'").Scan(ctx, &admins); err != nil || admins != 2 {
		t.Errorf("user_counts admin/suspended: %d, %v; want 2", admins, err)
	}
}
