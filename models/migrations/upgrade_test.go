package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server/testkit"
)

// TestRelease_EveryMigrationOnData applies the migrations one by one to a
// database that holds data: before each migration, a set of rows is
// written at the schema the earlier migrations made (accounts of every
// role and status, with and without addresses, second factors, sessions,
// tokens, settings, audit events, ledger entries, providers and their
// links, wherever the tables exist by then). Each migration must apply,
// keep every row, and leave the database sound; at the end the derived
// tables (account counts, search) agree with the accounts.
func TestRelease_EveryMigrationOnData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testkit.EmptyDB(t)
	names := migrations.Names()
	want := map[string]int{}
	for i, name := range names {
		if i > 0 {
			seedStep(t, db, i, want)
		}
		if err := migrations.RunThrough(ctx, db, name); err != nil {
			t.Fatalf("%s on a database with data: %v", name, err)
		}
		for table, n := range want {
			got, err := db.NewSelect().TableExpr(table).Count(ctx)
			if err != nil {
				t.Fatalf("after %s: count %s: %v", name, table, err)
			}
			if int(got) != n {
				t.Fatalf("after %s: %s holds %d rows, want %d", name, table, got, n)
			}
		}
		if models.IsSQLite(db) {
			var check string
			if err := db.NewRaw("PRAGMA integrity_check").Scan(ctx, &check); err != nil || check != "ok" {
				t.Fatalf("after %s: integrity_check %q %v", name, check, err)
			}
			var fk []struct {
				Table string `bun:"table"`
			}
			if err := db.NewRaw("PRAGMA foreign_key_check").Scan(ctx, &fk); err != nil || len(fk) != 0 {
				t.Fatalf("after %s: foreign_key_check %v %v", name, fk, err)
			}
		}
	}
	if want["users"] < 3*(len(names)-1) {
		t.Fatalf("only %d accounts were written", want["users"])
	}
	// The account counts kept by triggers equal a real count.
	var counted, real int
	if err := db.NewRaw("SELECT coalesce(sum(n), 0) FROM user_counts").Scan(ctx, &counted); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT count(*) FROM users").Scan(ctx, &real); err != nil {
		t.Fatal(err)
	}
	if counted != real {
		t.Fatalf("user_counts says %d accounts, the table holds %d", counted, real)
	}
	// An account written before the search index existed is found.
	n, _, err := models.CountUsersMatching(ctx, db, models.UserFilter{Q: "step1-admin"}, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("search for an account older than the search index: %d %v", n, err)
	}
}

// columns lists the columns of table at the current schema (nil when the
// table does not exist yet).
func columns(t *testing.T, db *bun.DB, table string) map[string]bool {
	t.Helper()
	var names []string
	var err error
	if models.IsSQLite(db) {
		err = db.NewRaw("SELECT name FROM pragma_table_info(?)", table).Scan(context.Background(), &names)
	} else {
		err = db.NewRaw("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?", table).Scan(context.Background(), &names)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// insert writes row into table, leaving out the columns the table does not
// have yet; it reports false when the table does not exist yet.
func insert(t *testing.T, db *bun.DB, table string, row map[string]any, want map[string]int) bool {
	t.Helper()
	cols := columns(t, db, table)
	if cols == nil {
		return false
	}
	m := map[string]any{}
	for k, v := range row {
		if cols[k] {
			m[k] = v
		}
	}
	if _, err := db.NewInsert().Model(&m).TableExpr(table).Exec(context.Background()); err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
	want[table]++
	return true
}

func idOf(t *testing.T, db *bun.DB, query string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := db.NewRaw(query, args...).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// seedStep writes the rows of step i.
func seedStep(t *testing.T, db *bun.DB, i int, want map[string]int) {
	t.Helper()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	tag := fmt.Sprintf("step%d", i)
	insert(t, db, "plans", map[string]any{"name": tag + "-plan", "period_days": 30, "active": true, "price_minor": 500, "created_at": now, "updated_at": now}, want)
	planID := idOf(t, db, "SELECT id FROM plans WHERE name = ?", tag+"-plan")
	var userIDs []int64
	for j, u := range []struct {
		role, status string
		email        any
		verified     any
	}{
		{"user", "active", tag + "-user@example.com", now},
		{"admin", "suspended", nil, nil},
		{"super_admin", "active", tag + "-super@example.com", nil},
	} {
		name := fmt.Sprintf("%s-%s", tag, []string{"user", "admin", "super"}[j])
		row := map[string]any{
			"public_id": fmt.Sprintf("u%02d%d", i, j), "username": name, "username_lower": name, "display_name": "Step " + name,
			"role": u.role, "status": u.status, "password_hash": "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "password_changed_at": now,
			"plan_id": planID, "subscription_expires_at": now.Add(30 * 24 * time.Hour), "balance": 100 * j,
			"last_login_at": now, "last_login_ip": "192.0.2.1", "created_at": now, "updated_at": now,
		}
		if u.email != nil {
			row["email"] = u.email
			row["email_lower"] = u.email
			row["email_verified_at"] = u.verified
		}
		if j == 2 {
			row["totp_secret"] = "v1:sealed"
			row["totp_enabled_at"] = now
		}
		insert(t, db, "users", row, want)
		userIDs = append(userIDs, idOf(t, db, "SELECT id FROM users WHERE username_lower = ?", name))
	}
	sid := tag + "-session"
	insert(t, db, "sessions", map[string]any{"id": sid, "token_hash": tag + "-th", "user_id": userIDs[0], "created_at": now, "last_seen_at": now, "expires_at": now.Add(time.Hour), "ip": "192.0.2.1", "method": "password"}, want)
	insert(t, db, "access_tokens", map[string]any{"id": tag + "-at", "token_hash": tag + "-ath", "session_id": sid, "user_id": userIDs[0], "name": "cli", "created_at": now, "expires_at": now.Add(time.Hour)}, want)
	insert(t, db, "settings", map[string]any{"group_name": tag, "value": `{"x":1}`, "version": 1, "updated_at": now}, want)
	for k := range 2 {
		insert(t, db, "audit_events", map[string]any{"created_at": now, "actor_id": userIDs[2], "actor_public_id": fmt.Sprintf("u%02d2", i), "actor_username": tag + "-super",
			"action": "account.updated", "target_type": "user", "target_id": userIDs[k], "target_public_id": fmt.Sprintf("u%02d%d", i, k), "target_label": tag, "details": `{"a":1}`}, want)
	}
	insert(t, db, "balance_ledger", map[string]any{"user_id": userIDs[1], "user_public_id": fmt.Sprintf("u%02d1", i), "created_at": now, "amount": 100, "balance_after": 100, "actor_id": userIDs[2], "actor_username": tag + "-super", "reason": "seed"}, want)
	insert(t, db, "recovery_codes", map[string]any{"user_id": userIDs[2], "code_hash": tag + "-rc", "created_at": now}, want)
	insert(t, db, "login_challenges", map[string]any{"token_hash": tag + "-lc", "user_id": userIDs[2], "method": "password", "created_at": now, "expires_at": now.Add(time.Hour)}, want)
	insert(t, db, "one_time_tokens", map[string]any{"token_hash": tag + "-ott", "purpose": "verify_email", "user_id": userIDs[0], "email": tag + "-user@example.com", "created_at": now, "expires_at": now.Add(time.Hour)}, want)
	if insert(t, db, "identity_providers", map[string]any{"slug": tag, "name": tag, "type": "oidc", "client_id": "cid", "client_secret_sealed": "v1:sealed", "issuer_url": "https://idp.example.com", "scopes": `["openid"]`, "created_at": now, "updated_at": now}, want) {
		pid := idOf(t, db, "SELECT id FROM identity_providers WHERE slug = ?", tag)
		insert(t, db, "user_identities", map[string]any{"provider_id": pid, "user_id": userIDs[0], "subject": tag + "-sub", "email": tag + "-user@example.com", "created_at": now}, want)
	}
	insert(t, db, "registration_notices", map[string]any{"email_lower": tag + "-notice@example.com", "sent_at": now}, want)
}
