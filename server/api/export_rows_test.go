package api_test

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

// TestExport_CellsMatchTheAccounts: every cell of the export (read by
// hand, column by column, with times taken as stored text) equals what
// the account's API view says, for accounts with and without every
// optional field: a plan active and expired, a lock that holds and one
// that has passed, 2FA, no email, an unverified email, a negative
// balance, cells a spreadsheet would run as formulas, commas, quotes and
// line breaks; across chunk boundaries, with and without search text.
func TestExport_CellsMatchTheAccounts(t *testing.T) {
	defer api.SetExportChunk(9)()
	app := testkit.NewApp(t)
	ctx := t.Context()
	db := app.Svc.DB
	if err := app.Svc.Seed(ctx, 60, nil); err != nil {
		t.Fatal(err)
	}
	now := app.Svc.Now()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.NewRaw(q, args...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE users SET locked_until = ? WHERE id % 9 = 1", now.Add(time.Hour))
	exec("UPDATE users SET locked_until = ? WHERE id % 9 = 2", now.Add(-time.Hour))
	exec("UPDATE users SET totp_enabled_at = ? WHERE id % 5 = 0", now.Add(-48*time.Hour+time.Nanosecond*123456000))
	exec("UPDATE users SET email = NULL, email_lower = NULL, email_verified_at = NULL WHERE id % 11 = 3")
	exec("UPDATE users SET email_verified_at = NULL WHERE id % 11 = 4")
	exec("UPDATE users SET balance = -250 WHERE id % 6 = 0")
	exec(`UPDATE users SET display_name = '=HYPERLINK("x"), ok', status_reason = 'line one
line two' WHERE id % 13 = 0`)
	exec("UPDATE users SET display_name = ' @lead, \"quoted\"' WHERE id % 17 = 0")
	var planID int64
	if err := db.NewRaw("SELECT id FROM plans ORDER BY id LIMIT 1").Scan(ctx, &planID); err != nil {
		t.Fatal(err)
	}
	exec("UPDATE users SET plan_id = ?, subscription_expires_at = ? WHERE id % 4 = 0", planID, now.Add(-time.Minute))
	exec("UPDATE users SET plan_id = ?, subscription_expires_at = NULL WHERE id % 4 = 1", planID)
	exec("UPDATE users SET plan_id = ?, subscription_expires_at = ? WHERE id % 4 = 2", planID, now.Add(90*24*time.Hour))

	ac := app.LoginAs(app.SuperAdmin("exporter"))
	ac.SkipSpec = true
	for _, query := range []string{"sort=-id", "sort=display_name", "sort=-last_login", "sort=updated", "twoFactor=on&sort=last_login", "q=example&sort=-updated", "q=hyperlink"} {
		r := ac.GET("/api/admin/users/export.csv?" + query).Expect(200)
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatal(query, err)
		}
		if len(rows) < 2 {
			t.Fatalf("%s: %d rows", query, len(rows))
		}
		for _, row := range rows[1:] {
			want := exportCells(t, app, row[0])
			if strings.Join(row, "|") != strings.Join(want, "|") {
				t.Fatalf("%s: row\n%q\nwant\n%q", query, row, want)
			}
		}
	}
}

// exportCells is an account's export line, built from its API view.
func exportCells(t *testing.T, app *testkit.App, cell string) []string {
	t.Helper()
	publicID := strings.TrimPrefix(cell, "'")
	var u models.User
	if err := app.Svc.DB.NewSelect().Model(&u).Relation("Plan").Where("u.public_id = ?", publicID).Scan(t.Context()); err != nil {
		t.Fatal(publicID, err)
	}
	v := api.NewUser(&u, app.Svc.Now())
	tc := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	cells := []string{v.PublicID, v.Username, v.DisplayName, deref(v.Email), strconv.FormatBool(v.EmailVerified), v.Phone, v.Language, v.Timezone,
		v.Role, v.Status, v.StatusReason, strconv.FormatInt(v.Balance, 10), deref(v.Subscription.PlanName), v.Subscription.Status, tc(v.Subscription.ExpiresAt),
		strconv.FormatBool(v.TwoFactorEnabled), tc(v.LockedUntil), tc(v.LastLoginAt), v.CreatedAt.UTC().Format(time.RFC3339), v.UpdatedAt.UTC().Format(time.RFC3339)}
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}
