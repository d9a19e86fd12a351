package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// Tests of the one account-change engine (issue 18): every change kind
// through its single endpoint and through bulk, concurrency, no-ops,
// bounds, billing modes and a property test of the invariants.

func setBilling(t *testing.T, app *testkit.App, mode string) {
	t.Helper()
	if err := app.Svc.Settings.Store(context.Background(), service.GroupBilling, service.BillingSettings{Mode: mode, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
}

// accountInvariants checks, straight in the database: at least one active
// super administrator who can sign in with a password while username
// sign-in is on (the test apps keep it on), every balance equals the sum
// of its ledger rows, and user_counts equals the rows.
func accountInvariants(t *testing.T, app *testkit.App, when string) {
	t.Helper()
	ctx := context.Background()
	db := app.Svc.DB
	n, err := db.NewSelect().Model((*models.User)(nil)).Where("role = ?", models.RoleSuperAdmin).Where("status = ?", models.StatusActive).Where("password_hash IS NOT NULL").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("%s: no active super administrator who can sign in", when)
	}
	var bad []struct {
		ID      int64 `bun:"id"`
		Balance int64 `bun:"balance"`
		Sum     int64 `bun:"s"`
	}
	if err := db.NewRaw(`SELECT u.id, u.balance, COALESCE((SELECT SUM(l.amount) FROM balance_ledger AS l WHERE l.user_id = u.id), 0) AS s FROM users AS u
		WHERE u.balance <> COALESCE((SELECT SUM(l.amount) FROM balance_ledger AS l WHERE l.user_id = u.id), 0)`).Scan(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("%s: balance differs from the ledger sum: %+v", when, bad)
	}
	var counts []struct {
		Role   string `bun:"role"`
		Status string `bun:"status"`
		N      int64  `bun:"n"`
		Rows   int64  `bun:"rows"`
	}
	if err := db.NewRaw(`SELECT c.role, c.status, c.n, (SELECT COUNT(*) FROM users AS u WHERE u.role = c.role AND u.status = c.status) AS rows FROM user_counts AS c`).Scan(ctx, &counts); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, c := range counts {
		if c.N != c.Rows {
			t.Fatalf("%s: user_counts %s/%s = %d, rows %d", when, c.Role, c.Status, c.N, c.Rows)
		}
		sum += c.N
	}
	all, err := db.NewSelect().Model((*models.User)(nil)).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(all) != sum {
		t.Fatalf("%s: user_counts total %d, rows %d", when, sum, all)
	}
	// Every audit row about an account names it.
	unnamed, err := db.NewSelect().Model((*models.AuditEvent)(nil)).Where("target_type = 'user'").Where("(target_public_id = '' OR target_label = '')").Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if unnamed > 0 {
		t.Fatalf("%s: %d audit rows about an account do not name it", when, unnamed)
	}
}

type auditRow struct {
	Action  string
	Reason  string
	Details map[string]any
}

func auditOf(t *testing.T, app *testkit.App, publicID string, since int64) []auditRow {
	t.Helper()
	var rows []models.AuditEvent
	if err := app.Svc.DB.NewSelect().Model(&rows).Where("target_public_id = ?", publicID).Where("id > ?", since).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]auditRow, len(rows))
	for i, r := range rows {
		out[i] = auditRow{Action: r.Action, Reason: r.Reason}
		if err := json.Unmarshal([]byte(r.Details), &out[i].Details); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func lastAuditID(t *testing.T, app *testkit.App) int64 {
	t.Helper()
	var id int64
	if err := app.Svc.DB.NewRaw("SELECT COALESCE(MAX(id), 0) FROM audit_events").Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

type ledgerRow struct {
	Amount, BalanceAfter int64
	Reason               string
}

func ledgerOf(t *testing.T, app *testkit.App, id int64) []ledgerRow {
	t.Helper()
	var rows []models.LedgerEntry
	if err := app.Svc.DB.NewSelect().Model(&rows).Where("user_id = ?", id).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]ledgerRow, len(rows))
	for i, r := range rows {
		out[i] = ledgerRow{r.Amount, r.BalanceAfter, r.Reason}
	}
	return out
}

// storedState is what a change may touch on an account, without names.
func storedState(t *testing.T, app *testkit.App, id int64) map[string]any {
	t.Helper()
	u, err := models.UserByID(context.Background(), app.Svc.DB, id)
	if err != nil {
		return map[string]any{"deleted": true}
	}
	var sessions int64
	if sessions, err = app.Svc.DB.NewSelect().Model((*models.Session)(nil)).Where("user_id = ?", id).Count(context.Background()); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"role": u.Role, "status": u.Status, "reason": u.StatusReason, "timezone": u.Timezone, "language": u.Language,
		"balance": u.Balance, "failed": u.FailedLogins, "locked": u.LockedUntil != nil, "2fa": u.TOTPEnabledAt != nil || u.TOTPSecret != nil, "sessions": sessions}
}

// TestAccountChanges_Parity runs every change kind once through its single
// endpoint and once through bulk on two accounts in the same state, and
// compares stored state, ledger rows and audit rows.
func TestAccountChanges_Parity(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	setBilling(t, app, "usage")
	root := app.SuperAdmin("root")
	rc := app.LoginAs(root)
	type kind struct {
		name   string
		setup  func(u *testkit.User)
		single func(u *testkit.User) *testkit.Response
		bulk   map[string]any // action and params
	}
	lock := func(u *testkit.User) {
		until := app.Clock.Now().Add(time.Hour)
		if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("failed_logins = 7").Set("locked_until = ?", until).Where("id = ?", u.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(u *testkit.User) { app.LoginAs(u) }
	enroll := func(u *testkit.User) {
		signIn(u)
		if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("totp_secret = 'sealed'").Set("totp_enabled_at = ?", app.Clock.Now()).Where("id = ?", u.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	path := func(u *testkit.User) string { return "/api/admin/users/" + u.PublicID }
	kinds := []kind{
		{name: "role", setup: signIn, single: func(u *testkit.User) *testkit.Response {
			return rc.PATCH(path(u), map[string]any{"role": "admin", "reason": "why"})
		}, bulk: map[string]any{"action": "set_role", "params": map[string]any{"role": "admin"}}},
		{name: "status", setup: signIn, single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/status", map[string]any{"status": "suspended", "reason": "why"})
		}, bulk: map[string]any{"action": "set_status", "params": map[string]any{"status": "suspended"}}},
		{name: "timezone", single: func(u *testkit.User) *testkit.Response {
			return rc.PATCH(path(u), map[string]any{"timezone": "Asia/Shanghai", "reason": "why"})
		}, bulk: map[string]any{"action": "set_timezone", "params": map[string]any{"timezone": "Asia/Shanghai"}}},
		{name: "language", single: func(u *testkit.User) *testkit.Response {
			return rc.PATCH(path(u), map[string]any{"language": "zh-CN", "reason": "why"})
		}, bulk: map[string]any{"action": "set_language", "params": map[string]any{"language": "zh-CN"}}},
		{name: "set_balance", single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/balance", map[string]any{"mode": "set", "amount": 700, "reason": "why"})
		}, bulk: map[string]any{"action": "set_balance", "params": map[string]any{"amount": 700}}},
		{name: "add_balance", single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/balance", map[string]any{"mode": "add", "amount": 250, "reason": "why"})
		}, bulk: map[string]any{"action": "add_balance", "params": map[string]any{"amount": 250}}},
		{name: "delete", setup: signIn, single: func(u *testkit.User) *testkit.Response {
			return rc.DELETE(path(u) + "?confirm=" + u.Username + "&reason=why")
		}, bulk: map[string]any{"action": "delete"}},
		{name: "unlock", setup: lock, single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/unlock", map[string]any{"reason": "why"})
		}, bulk: map[string]any{"action": "unlock"}},
		{name: "reset_2fa", setup: enroll, single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/reset-2fa", map[string]any{"reason": "why"})
		}, bulk: map[string]any{"action": "reset_2fa"}},
		{name: "revoke_sessions", setup: signIn, single: func(u *testkit.User) *testkit.Response {
			return rc.POST(path(u)+"/revoke-sessions", map[string]any{"reason": "why"})
		}, bulk: map[string]any{"action": "revoke_sessions"}},
	}
	for _, k := range kinds {
		a := app.CreateUser(testkit.UserSpec{Username: k.name + "-single", Email: k.name + "-single@example.com", Role: models.RoleUser})
		b := app.CreateUser(testkit.UserSpec{Username: k.name + "-bulk", Email: k.name + "-bulk@example.com", Role: models.RoleUser})
		f := app.CreateUser(testkit.UserSpec{Username: k.name + "-filter", Email: k.name + "-filter@example.com", Role: models.RoleUser})
		// b changes in a batch of two: the path that writes many audit
		// and ledger rows at once (a batch of one writes them as a
		// single change does).
		pair := app.CreateUser(testkit.UserSpec{Username: k.name + "-pair", Email: k.name + "-pair@example.com", Role: models.RoleUser})
		if k.setup != nil {
			k.setup(a)
			k.setup(b)
			k.setup(f)
			k.setup(pair)
		}
		since := lastAuditID(t, app)
		if r := k.single(a); r.Status >= 300 {
			t.Fatalf("%s single: %d %s", k.name, r.Status, r.Body)
		}
		body := map[string]any{"publicIds": []string{b.PublicID, pair.PublicID}, "reason": "why"}
		for key, v := range k.bulk {
			body[key] = v
		}
		var res struct {
			Changed int `json:"changed"`
		}
		rc.POST("/api/admin/users/bulk", body).Expect(200).JSON(&res)
		if res.Changed != 2 {
			t.Errorf("%s bulk: changed %d", k.name, res.Changed)
		}
		// And through bulk by a filter (the path that may plan without
		// reading names and take them from the write).
		body = map[string]any{"filter": map[string]any{"q": f.Username}, "reason": "why"}
		for key, v := range k.bulk {
			body[key] = v
		}
		rc.POST("/api/admin/users/bulk", body).Expect(200).JSON(&res)
		if res.Changed != 1 {
			t.Errorf("%s bulk by filter: changed %d", k.name, res.Changed)
		}
		if sa, sf := storedState(t, app, a.ID), storedState(t, app, f.ID); !reflect.DeepEqual(sa, sf) {
			t.Errorf("%s: stored state differs:\nsingle %v\nfilter %v", k.name, sa, sf)
		}
		if la, lf := ledgerOf(t, app, a.ID), ledgerOf(t, app, f.ID); !reflect.DeepEqual(la, lf) {
			t.Errorf("%s: ledger differs:\nsingle %v\nfilter %v", k.name, la, lf)
		}
		js, _ := json.Marshal(auditOf(t, app, a.PublicID, since))
		jf, _ := json.Marshal(auditOf(t, app, f.PublicID, since))
		if strings.ReplaceAll(string(js), "-single", "") != strings.ReplaceAll(string(jf), "-filter", "") {
			t.Errorf("%s: audit differs:\nsingle %s\nfilter %s", k.name, js, jf)
		}
		if sa, sb := storedState(t, app, a.ID), storedState(t, app, b.ID); !reflect.DeepEqual(sa, sb) {
			t.Errorf("%s: stored state differs:\nsingle %v\nbulk   %v", k.name, sa, sb)
		}
		if la, lb := ledgerOf(t, app, a.ID), ledgerOf(t, app, b.ID); !reflect.DeepEqual(la, lb) {
			t.Errorf("%s: ledger differs:\nsingle %v\nbulk   %v", k.name, la, lb)
		}
		// The rows may differ only in the account's own name.
		aa, ab := auditOf(t, app, a.PublicID, since), auditOf(t, app, b.PublicID, since)
		ja, _ := json.Marshal(aa)
		jb, _ := json.Marshal(ab)
		if strings.ReplaceAll(string(ja), "-single", "") != strings.ReplaceAll(string(jb), "-bulk", "") || len(aa) != 1 {
			t.Errorf("%s: audit differs:\nsingle %v\nbulk   %v", k.name, aa, ab)
		}
	}
	accountInvariants(t, app, "after parity")
}

// TestAccountChanges_ConcurrentBalanceAdds: 100 parallel +1 adjustments on
// one account (single endpoint and bulk mixed) end at exactly +100, with
// the ledger sum equal to the balance.
func TestAccountChanges_ConcurrentBalanceAdds(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	setBilling(t, app, "usage")
	clients := []*testkit.Client{app.LoginAs(app.SuperAdmin("root")), app.LoginAs(app.Admin("alice")), app.LoginAs(app.Admin("amy"))}
	bob := app.Member("bob")
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[i%len(clients)]
			var r *testkit.Response
			if i%4 == 3 {
				r = c.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "publicIds": []string{bob.PublicID}, "params": map[string]any{"amount": 1}})
			} else {
				r = c.POST("/api/admin/users/"+bob.PublicID+"/balance", map[string]any{"mode": "add", "amount": 1})
			}
			if r.Status != 200 {
				t.Errorf("add %d: %d %s", i, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if got := app.Reload(bob).Balance; got != 100 {
		t.Fatalf("balance %d after 100 parallel +1", got)
	}
	rows := ledgerOf(t, app, bob.ID)
	seen := map[int64]bool{}
	for _, r := range rows {
		if seen[r.BalanceAfter] {
			t.Fatalf("two ledger rows end at %d", r.BalanceAfter)
		}
		seen[r.BalanceAfter] = true
	}
	if len(rows) != 100 {
		t.Fatalf("%d ledger rows", len(rows))
	}
	accountInvariants(t, app, "after parallel adds")
}

// TestAccountChanges_ConcurrentLastSuperAdmin: mixed role, status and
// delete changes, single and bulk, by two super administrators on each
// other and a third, always leave one active super administrator.
func TestAccountChanges_ConcurrentLastSuperAdmin(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	for round := range 6 {
		supers := []*testkit.User{app.SuperAdmin(fmt.Sprintf("s%da", round)), app.SuperAdmin(fmt.Sprintf("s%db", round)), app.SuperAdmin(fmt.Sprintf("s%dc", round))}
		clients := make([]*testkit.Client, len(supers))
		for i, s := range supers {
			clients[i] = app.LoginAs(s)
		}
		// Earlier rounds' super administrators step aside first.
		if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("role = ?", models.RoleUser).Where("role = ?", models.RoleSuperAdmin).Where("username NOT LIKE ?", fmt.Sprintf("s%d%%", round)).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i, c := range clients {
			for j, target := range supers {
				if i == j {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := "/api/admin/users/" + target.PublicID
					switch (round + i + j) % 5 {
					case 0:
						c.POST(p+"/status", map[string]any{"status": "suspended"})
					case 1:
						c.PATCH(p, map[string]any{"role": "admin"})
					case 2:
						c.DELETE(p + "?confirm=" + target.Username)
					case 3:
						c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": []string{target.PublicID}, "params": map[string]any{"status": "deactivated"}, "skipRefused": true})
					case 4:
						c.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "publicIds": []string{target.PublicID}, "params": map[string]any{"role": "user"}, "skipRefused": true})
					}
				}()
			}
		}
		wg.Wait()
		accountInvariants(t, app, fmt.Sprintf("round %d", round))
	}
}

// TestAccountChanges_NoOps: a change to the state an account is already in
// is reported as unchanged and leaves no history row, single and bulk.
func TestAccountChanges_NoOps(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	a := app.CreateUser(testkit.UserSpec{Username: "sam", Email: "sam@example.com", Status: models.StatusSuspended})
	b := app.CreateUser(testkit.UserSpec{Username: "sue", Email: "sue@example.com", Status: models.StatusSuspended})
	since := lastAuditID(t, app)
	ids := []string{a.PublicID, b.PublicID}
	for _, body := range []map[string]any{
		{"action": "set_status", "params": map[string]any{"status": "suspended"}, "reason": "again"},
		{"action": "set_role", "params": map[string]any{"role": "user"}},
		{"action": "set_timezone", "params": map[string]any{"timezone": "UTC"}},
	} {
		for _, dry := range []bool{true, false} {
			body["publicIds"], body["dryRun"] = ids, dry
			var res struct {
				Changed int `json:"changed"`
				Matched int `json:"matched"`
			}
			rc.POST("/api/admin/users/bulk", body).Expect(200).JSON(&res)
			if res.Changed != 0 || res.Matched != 2 {
				t.Errorf("%v dry=%v: %+v", body["action"], dry, res)
			}
		}
	}
	rc.POST("/api/admin/users/"+a.PublicID+"/status", map[string]any{"status": "suspended", "reason": "once more"}).Expect(200)
	rc.PATCH("/api/admin/users/"+a.PublicID, map[string]any{"role": "user", "timezone": "UTC"}).Expect(200)
	if rows := append(auditOf(t, app, a.PublicID, since), auditOf(t, app, b.PublicID, since)...); len(rows) != 0 {
		t.Fatalf("no-op changes wrote history: %+v", rows)
	}
}

// TestAccountChanges_BalanceBounds: |balance| ≤ 2^53 on both paths.
func TestAccountChanges_BalanceBounds(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	setBilling(t, app, "usage")
	rc := app.LoginAs(app.SuperAdmin("root"))
	bob := app.Member("bob")
	const max = int64(1) << 53
	rc.POST("/api/admin/users/"+bob.PublicID+"/balance", map[string]any{"mode": "set", "amount": max - 10}).Expect(200)
	rc.POST("/api/admin/users/"+bob.PublicID+"/balance", map[string]any{"mode": "add", "amount": 100}).Expect(422)
	var res struct {
		Changed int `json:"changed"`
		Refused []struct {
			Code string `json:"code"`
		} `json:"refused"`
	}
	rc.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "publicIds": []string{bob.PublicID}, "params": map[string]any{"amount": 100}, "dryRun": true}).Expect(200).JSON(&res)
	if res.Changed != 0 || len(res.Refused) != 1 || res.Refused[0].Code != "balance_out_of_range" {
		t.Fatalf("preview: %+v", res)
	}
	rc.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "publicIds": []string{bob.PublicID}, "params": map[string]any{"amount": 100}}).Expect(409)
	rc.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "filter": map[string]any{"q": "bob"}, "params": map[string]any{"amount": 100}, "skipRefused": true}).Expect(200)
	if got := app.Reload(bob).Balance; got != max-10 {
		t.Fatalf("balance %d, want %d", got, max-10)
	}
	accountInvariants(t, app, "after bounds")
}

// TestAccountChanges_InactiveBillingFields: billing fields of a mode that
// is not active are refused with a field error.
func TestAccountChanges_InactiveBillingFields(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	bob := app.Member("bob")
	p := "/api/admin/users/" + bob.PublicID
	setBilling(t, app, "period")
	plan := rc.POST("/api/admin/plans", map[string]any{"name": "Pro", "periodDays": 30}).Expect(201).Map()
	if f := rc.POST(p+"/balance", map[string]any{"mode": "add", "amount": 5}).Expect(422).Fields(); f["amount"] == "" {
		t.Fatalf("balance in period mode: %v", f)
	}
	if f := rc.POST("/api/admin/users/bulk", map[string]any{"action": "set_balance", "publicIds": []string{bob.PublicID}, "params": map[string]any{"amount": 5}}).Expect(422).Fields(); f["action"] == "" {
		t.Fatalf("bulk balance in period mode: %v", f)
	}
	rc.PATCH(p, map[string]any{"planId": plan["id"]}).Expect(200)
	setBilling(t, app, "usage")
	if f := rc.PATCH(p, map[string]any{"planId": nil}).Expect(422).Fields(); f["planId"] == "" {
		t.Fatalf("plan in usage mode: %v", f)
	}
	if f := rc.PATCH(p, map[string]any{"subscriptionExpiresAt": "2030-01-01T00:00:00Z"}).Expect(422).Fields(); f["subscriptionExpiresAt"] == "" {
		t.Fatalf("expiry in usage mode: %v", f)
	}
	rc.POST(p+"/balance", map[string]any{"mode": "add", "amount": 5}).Expect(200)
	setBilling(t, app, "self")
	rc.POST(p+"/balance", map[string]any{"mode": "add", "amount": 5}).Expect(422)
	if got := app.Reload(bob).Balance; got != 5 {
		t.Fatal(got)
	}
}

// TestAccountChanges_DeleteAuditShape: single and bulk delete audit the
// same fields.
func TestAccountChanges_DeleteAuditShape(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	a, b := app.Member("anna"), app.Member("bert")
	since := lastAuditID(t, app)
	rc.DELETE("/api/admin/users/" + a.PublicID + "?confirm=anna").Expect(204)
	rc.POST("/api/admin/users/bulk", map[string]any{"action": "delete", "publicIds": []string{b.PublicID}}).Expect(200)
	da, db := auditOf(t, app, a.PublicID, since), auditOf(t, app, b.PublicID, since)
	if len(da) != 1 || len(db) != 1 {
		t.Fatal(da, db)
	}
	if da[0].Details["email"] != "anna@example.com" || db[0].Details["email"] != "bert@example.com" || len(da[0].Details) != len(db[0].Details) {
		t.Fatalf("single %v, bulk %v", da[0].Details, db[0].Details)
	}
}

// propertySeedEnv fixes TestAccountChanges_Property's random seed (the
// test logs the seed it used).
const propertySeedEnv = "GATEHOUSE_TEST_PROPERTY_SEED"

// superAdminSignsIn checks the first invariant on a real sign-in path: one
// of the active super administrators among people signs in with username
// and password, and the session is a super administrator's.
// (accountInvariants sees only that a password hash is set.)
func superAdminSignsIn(t *testing.T, app *testkit.App, people []*testkit.User, when string) {
	t.Helper()
	var active []int64
	if err := app.Svc.DB.NewSelect().Model((*models.User)(nil)).Column("id").Where("role = ?", models.RoleSuperAdmin).Where("status = ?", models.StatusActive).Scan(context.Background(), &active); err != nil {
		t.Fatal(err)
	}
	var answers []string
	for _, p := range people {
		if !slices.Contains(active, p.ID) {
			continue
		}
		c := app.Client()
		r := c.POST("/api/auth/login", map[string]string{"identifier": p.Username, "password": p.Password})
		if r.Status == 200 {
			var me struct {
				Role string `json:"role"`
			}
			m := c.GET("/api/me")
			if m.Status == 200 {
				m.JSON(&me)
				if me.Role == models.RoleSuperAdmin {
					return
				}
			}
			answers = append(answers, fmt.Sprintf("%s: /api/me %d %s", p.Username, m.Status, m.Body))
			continue
		}
		answers = append(answers, fmt.Sprintf("%s: %d %s", p.Username, r.Status, r.Body))
	}
	t.Fatalf("%s: no active super administrator signs in (%d active): %v", when, len(active), answers)
}

// TestAccountChanges_Property: random sequences of single and bulk changes
// by random actors never break the invariants; after every step an active
// super administrator signs in. The seed is logged and can be fixed with
// GATEHOUSE_TEST_PROPERTY_SEED.
func TestAccountChanges_Property(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	setBilling(t, app, "usage")
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(propertySeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", propertySeedEnv, v, err)
		}
	}
	t.Logf("seed %d (%s=%d runs these steps again)", seed, propertySeedEnv, seed)
	rng := rand.New(rand.NewPCG(18, seed))
	var people []*testkit.User
	people = append(people, app.SuperAdmin("root"), app.SuperAdmin("rita"), app.Admin("alice"), app.Admin("andy"))
	for i := range 6 {
		people = append(people, app.Member(fmt.Sprintf("member%d", i)))
	}
	clients := map[int64]*testkit.Client{}
	client := func(u *testkit.User) *testkit.Client {
		if c, ok := clients[u.ID]; ok {
			return c
		}
		r := app.Client()
		if r.POST("/api/auth/login", map[string]string{"identifier": u.Username, "password": u.Password}).Status != 200 {
			return nil
		}
		clients[u.ID] = r
		return r
	}
	roles := []string{"user", "admin", "super_admin"}
	statuses := []string{"active", "suspended", "deactivated", "pending"}
	for step := range 150 {
		actor := people[rng.IntN(len(people))]
		c := client(actor)
		if c == nil {
			continue
		}
		var targets []string
		for range 1 + rng.IntN(3) {
			targets = append(targets, people[rng.IntN(len(people))].PublicID)
		}
		tp := "/api/admin/users/" + targets[0]
		var desc string
		switch rng.IntN(9) {
		case 0:
			role := roles[rng.IntN(3)]
			desc = "role " + role
			switch rng.IntN(3) {
			case 0:
				c.PATCH(tp, map[string]any{"role": role})
			case 1:
				c.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "publicIds": targets, "params": map[string]any{"role": role}, "skipRefused": rng.IntN(2) == 0})
			default: // by role and status: planned from the index
				c.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "filter": map[string]any{"role": roles[rng.IntN(3)], "status": statuses[rng.IntN(4)]}, "params": map[string]any{"role": role}, "skipRefused": rng.IntN(2) == 0})
			}
		case 1:
			st := statuses[rng.IntN(4)]
			desc = "status " + st
			switch rng.IntN(3) {
			case 0:
				c.POST(tp+"/status", map[string]any{"status": st})
			case 1:
				c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": targets, "params": map[string]any{"status": st}, "skipRefused": rng.IntN(2) == 0})
			default:
				c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "filter": map[string]any{"status": statuses[rng.IntN(4)]}, "params": map[string]any{"status": st}, "skipRefused": rng.IntN(2) == 0})
			}
		case 2, 3:
			amount := rng.IntN(200) - 100
			desc = fmt.Sprint("balance ", amount)
			if rng.IntN(2) == 0 {
				c.POST(tp+"/balance", map[string]any{"mode": []string{"add", "set"}[rng.IntN(2)], "amount": amount, "allowNegative": true})
			} else {
				c.POST("/api/admin/users/bulk", map[string]any{"action": []string{"add_balance", "set_balance"}[rng.IntN(2)], "publicIds": targets, "params": map[string]any{"amount": amount, "allowNegative": rng.IntN(2) == 0}, "skipRefused": true})
			}
		case 4:
			desc = "delete"
			if rng.IntN(3) == 0 { // deletes are rarer
				c.POST("/api/admin/users/bulk", map[string]any{"action": "delete", "publicIds": targets, "skipRefused": true})
			}
		case 5:
			desc = "reset 2fa"
			c.POST(tp+"/reset-2fa", map[string]any{})
		case 6:
			desc = "revoke"
			c.POST("/api/admin/users/bulk", map[string]any{"action": "revoke_sessions", "publicIds": targets, "skipRefused": true})
		case 7:
			desc = "unlock"
			c.POST(tp+"/unlock", map[string]any{})
		case 8:
			desc = "timezone"
			c.PATCH(tp, map[string]any{"timezone": []string{"UTC", "Europe/Berlin"}[rng.IntN(2)]})
		}
		when := fmt.Sprintf("step %d (%s by %s)", step, desc, actor.Username)
		accountInvariants(t, app, when)
		superAdminSignsIn(t, app, people, when)
		// A client whose account lost its session signs in again next time.
		for id := range clients {
			delete(clients, id)
		}
	}
}

// TestAccountChanges_MixedKindsNoDeadlock: role and status changes (which
// also lock the super administrators' rows) and balance changes (which
// lock only their targets), single and bulk, run in parallel across
// overlapping targets that include super administrators. Every row lock
// is taken in id order in one statement, so PostgreSQL never has to abort
// one of them as a deadlock (a 500).
func TestAccountChanges_MixedKindsNoDeadlock(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	setBilling(t, app, "usage")
	root := app.SuperAdmin("root")
	t1, t2 := app.Member("tina"), app.Member("tom")
	s2, s3 := app.SuperAdmin("sam"), app.SuperAdmin("sue")
	clients := []*testkit.Client{app.LoginAs(root), app.LoginAs(root), app.LoginAs(s2)}
	ids := func(us ...*testkit.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.PublicID
		}
		return out
	}
	statuses := []string{"suspended", "active"}
	roles := []string{"admin", "user"}
	var failed sync.Once
	stop := make(chan struct{})
	for round := 0; round < 40; round++ {
		select {
		case <-stop:
			round = 40
			continue
		default:
		}
		var wg sync.WaitGroup
		for k := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := clients[(round+k)%len(clients)]
				var r *testkit.Response
				switch k {
				case 0:
					r = c.POST("/api/admin/users/"+t1.PublicID+"/status", map[string]any{"status": statuses[round%2]})
				case 1:
					r = c.PATCH("/api/admin/users/"+t2.PublicID, map[string]any{"role": roles[round%2]})
				case 2:
					r = c.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "publicIds": ids(t1, t2), "params": map[string]any{"role": roles[(round+1)%2]}, "skipRefused": true})
				case 3:
					r = c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": ids(t2, s3), "params": map[string]any{"status": statuses[(round+1)%2]}, "skipRefused": true})
				case 4, 5:
					r = c.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "publicIds": ids(s3, t2, t1, s2), "params": map[string]any{"amount": 1}, "skipRefused": true})
				case 6:
					r = c.POST("/api/admin/users/"+t1.PublicID+"/balance", map[string]any{"mode": "add", "amount": 1})
				case 7:
					r = c.POST("/api/admin/users/"+s3.PublicID+"/balance", map[string]any{"mode": "add", "amount": 1})
				case 8:
					r = c.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "publicIds": ids(t2, s2, s3), "params": map[string]any{"amount": 1}, "skipRefused": true})
				case 9:
					r = c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": ids(t1, s2), "params": map[string]any{"status": "active"}, "skipRefused": true})
				}
				if r.Status >= 500 || strings.Contains(string(r.Body), "deadlock") {
					t.Errorf("round %d, change %d: %d %s", round, k, r.Status, r.Body)
					failed.Do(func() { close(stop) })
				}
			}()
		}
		wg.Wait()
	}
	accountInvariants(t, app, "after mixed changes")
}

// TestAccountChanges_VerifiedAddressLocksOtherHolder: an administrator's
// "verified" on an address releases it from the other accounts that hold
// it unverified, and takes those accounts' rows through the engine's row
// lock (models.LockUsers) before it writes them. Here another
// transaction holds the other holder's row and gives it a new address
// meanwhile: the release waits for it and leaves the new address alone.
// Before, on PostgreSQL, the release read the holder without a lock and
// then overwrote the new address with NULL (a lost update, audited as the
// release of an address the account no longer had).
func TestAccountChanges_VerifiedAddressLocksOtherHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	alice, bob := app.CreateUser(testkit.UserSpec{Username: "alice"}), app.CreateUser(testkit.UserSpec{Username: "bob"})
	for _, p := range []*testkit.User{alice, bob} {
		u := app.Reload(p)
		u.SetEmail("shared@example.org")
		u.EmailVerifiedAt, u.EmailVouched = nil, false
		if err := models.WriteUserEmail(ctx, app.Svc.DB, u); err != nil {
			t.Fatal(err)
		}
	}
	since := lastAuditID(t, app)
	tx, err := app.Svc.DB.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE holds the database
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	lock := models.ReadOnly
	if !models.IsSQLite(app.Svc.DB) {
		lock = models.LockRows
	}
	if _, err := models.LockUsers(ctx, tx, models.UsersByPublicIDs(tx, []string{bob.PublicID}), []string{"id"}, lock, 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan *testkit.Response, 1)
	go func() {
		done <- rc.PATCH("/api/admin/users/"+alice.PublicID, map[string]any{"emailVerified": true, "reason": "checked by phone"})
	}()
	time.Sleep(300 * time.Millisecond)
	moved := app.Reload(bob)
	moved.SetEmail("bob.new@example.org")
	moved.UpdatedAt = app.Clock.Now()
	if err := models.WriteUserEmail(ctx, tx, moved); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != 200 {
		t.Fatalf("mark verified: %d %s", r.Status, r.Body)
	}
	if got := app.Reload(bob).Email; got == nil || *got != "bob.new@example.org" {
		t.Fatalf("bob's address after the release: %v, want the one his own change gave him", got)
	}
	if rows := auditOf(t, app, bob.PublicID, since); len(rows) != 0 {
		t.Fatalf("bob: audit rows %+v, want none (he no longer held the address)", rows)
	}
	if a := app.Reload(alice); a.EmailVerifiedAt == nil {
		t.Fatal("alice's address is not verified")
	}
}

// TestPostgres_ChangeOutlastsTheDriversReadTimeout: a change that waits
// longer than ten seconds on PostgreSQL (here for a row lock another
// transaction holds 11 s; a large bulk change on a busy machine takes as
// long) completes. Before, pgdriver's default 10 s socket read timeout
// cut the statement: 503 storage_unavailable, and a connection dropped in
// the middle of its transaction. SQLite waits for its write lock through
// busy_timeout (5 s) instead, so this runs on PostgreSQL only (the
// PostgreSQL pass of CI).
func TestPostgres_ChangeOutlastsTheDriversReadTimeout(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	if models.IsSQLite(app.Svc.DB) {
		t.Skip("PostgreSQL only: set GATEHOUSE_TEST_DATABASE_URL")
	}
	ctx := context.Background()
	rc := app.LoginAs(app.SuperAdmin("root"))
	bob := app.Member("bob")
	tx, err := app.Svc.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := models.LockUsers(ctx, tx, models.UsersByPublicIDs(tx, []string{bob.PublicID}), []string{"id"}, models.LockRows, 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan *testkit.Response, 1)
	start := time.Now()
	go func() {
		done <- rc.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "filter": map[string]any{"q": "bob"}, "params": map[string]any{"status": "suspended"}, "reason": "waits"})
	}()
	time.Sleep(11 * time.Second)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.Status != 200 {
		t.Fatalf("after waiting %s: %d %s", time.Since(start).Round(time.Millisecond), r.Status, r.Body)
	}
	if got := app.Reload(bob).Status; got != models.StatusSuspended {
		t.Fatalf("status %s", got)
	}
}

// TestAccountChanges_BulkByStatusNamesEveryTarget: a bulk status or role
// change selected by role and status reads its targets from the (role,
// status, ...) index without their names: every audit row still names
// its account (public ID and username, taken from the write), every
// refusal too (in the preview and in the run), and a filter whose
// accounts are all in the state already changes nothing and writes no
// history row.
func TestAccountChanges_BulkByStatusNamesEveryTarget(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.SuperAdmin("root")
	ac := app.LoginAs(app.Admin("alice"))
	var pending []*testkit.User
	for _, name := range []string{"pia", "pete", "paul"} {
		pending = append(pending, app.CreateUser(testkit.UserSpec{Username: name, Email: name + "@example.com", Status: models.StatusPending}))
	}
	boss := app.CreateUser(testkit.UserSpec{Username: "boss", Email: "boss@example.com", Role: models.RoleSuperAdmin, Status: models.StatusPending})
	since := lastAuditID(t, app)
	type result struct {
		Changed int    `json:"changed"`
		BatchID string `json:"batchId"`
		Refused []struct {
			PublicID string `json:"publicId"`
			Username string `json:"username"`
			Code     string `json:"code"`
		} `json:"refused"`
	}
	body := map[string]any{"action": "set_status", "filter": map[string]any{"status": "pending"}, "params": map[string]any{"status": "active"}, "reason": "welcome", "skipRefused": true}
	for _, dry := range []bool{true, false} {
		body["dryRun"] = dry
		var res result
		ac.POST("/api/admin/users/bulk", body).Expect(200).JSON(&res)
		if res.Changed != 3 || len(res.Refused) != 1 || res.Refused[0].PublicID != boss.PublicID || res.Refused[0].Username != "boss" || res.Refused[0].Code != "super_admin_protected" {
			t.Fatalf("dry=%v: %+v", dry, res)
		}
	}
	for _, p := range pending {
		rows := auditOf(t, app, p.PublicID, since)
		if len(rows) != 1 || rows[0].Action != service.ActionUserStatusChanged || rows[0].Details["before"] != "pending" || rows[0].Details["after"] != "active" || rows[0].Reason != "welcome" {
			t.Fatalf("%s: audit %+v", p.Username, rows)
		}
		if app.Reload(p).Status != models.StatusActive {
			t.Fatalf("%s not active", p.Username)
		}
	}
	var labels []string
	if err := app.Svc.DB.NewSelect().Model((*models.AuditEvent)(nil)).Column("target_label").Where("id > ?", since).Order("target_label").Scan(context.Background(), &labels); err != nil {
		t.Fatal(err)
	}
	if strings.Join(labels, ",") != "paul,pete,pia" {
		t.Fatalf("audit rows name %v", labels)
	}
	// Role by role and status: the same path.
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "filter": map[string]any{"role": "user", "status": "active"}, "params": map[string]any{"role": "admin"}, "skipRefused": true}).Expect(200)
	for _, p := range pending {
		if rows := auditOf(t, app, p.PublicID, since); len(rows) != 2 || rows[1].Action != service.ActionUserRoleChanged {
			t.Fatalf("%s: audit %+v", p.Username, rows)
		}
	}
	// Everyone matched (alice herself too) has the role already: nothing
	// changes, no rows.
	since = lastAuditID(t, app)
	var res result
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "filter": map[string]any{"status": "active", "role": "admin"}, "params": map[string]any{"role": "admin"}, "skipRefused": true}).Expect(200).JSON(&res)
	if res.Changed != 0 || res.BatchID != "" || len(res.Refused) != 0 {
		t.Fatalf("no-op by filter: %+v", res)
	}
	if n := lastAuditID(t, app); n != since {
		t.Fatalf("no-op by filter wrote %d audit rows", n-since)
	}
	accountInvariants(t, app, "after bulk by status")
}

// TestAccountChanges_CrossVerifiedAddressNoDeadlock: two administrators
// mark the same address verified at once, each on a different account
// that holds it unverified. Each change locks its target and then the
// other holder (to release the address from it): on PostgreSQL the two
// took the same two rows in opposite orders and one was aborted as a
// deadlock (a 500). Now the holders are locked in the target's own
// statement, in id order, so the second change waits for the first and
// then finds the address gone: exactly one account ends up holding it,
// verified. The accounts are created before the acting super
// administrator so that his row (locked with every such change) does not
// order the two changes by itself. SQLite runs the changes one after the
// other and passes either way; the PostgreSQL pass of CI is the test.
func TestAccountChanges_CrossVerifiedAddressNoDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	for round := range 25 {
		addr := fmt.Sprintf("shared%d@example.org", round)
		pair := []*testkit.User{
			app.CreateUser(testkit.UserSpec{Username: fmt.Sprintf("ann%d", round)}),
			app.CreateUser(testkit.UserSpec{Username: fmt.Sprintf("ben%d", round)}),
		}
		for _, p := range pair {
			u := app.Reload(p)
			u.SetEmail(addr)
			u.EmailVerifiedAt, u.EmailVouched = nil, false
			if err := models.WriteUserEmail(ctx, app.Svc.DB, u); err != nil {
				t.Fatal(err)
			}
		}
		root := app.SuperAdmin(fmt.Sprintf("root%d", round))
		clients := []*testkit.Client{app.LoginAs(root), app.LoginAs(root)}
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := clients[i].PATCH("/api/admin/users/"+pair[i].PublicID, map[string]any{"emailVerified": true, "reason": "checked"})
				status[i] = r.Status
				if r.Status >= 500 || strings.Contains(string(r.Body), "deadlock") {
					t.Errorf("round %d, account %d: %d %s", round, i, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		holders := 0
		for _, p := range pair {
			u := app.Reload(p)
			if u.Email != nil && *u.Email == addr {
				holders++
				if u.EmailVerifiedAt == nil {
					t.Fatalf("round %d: %s holds the address unverified", round, u.Username)
				}
			}
		}
		if holders != 1 || (status[0] == 200) == (status[1] == 200) {
			t.Fatalf("round %d: %d accounts hold the address; answers %v", round, holders, status)
		}
	}
	accountInvariants(t, app, "after crossed verifications")
}

// TestBulk_AnswerOutlastsTheWriteTimeout: a bulk change that runs longer
// than the server's write timeout (60 s in production; a 100,000-account
// change on a busy machine took 67-69 s) still gets its answer to the
// client. Before, the change committed and the connection was closed
// without a byte: the console could not tell what happened. Here the
// server's write timeout is 1 s and the change waits 2 s for another
// transaction (SQLite's write lock; a row lock on PostgreSQL).
func TestBulk_AnswerOutlastsTheWriteTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	bob := app.Member("bob")
	base, client := signedInWithWriteTimeout(t, app, time.Second, root)
	tx, err := app.Svc.DB.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE holds the database
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	lock := models.ReadOnly
	if !models.IsSQLite(app.Svc.DB) {
		lock = models.LockRows
	}
	if _, err := models.LockUsers(ctx, tx, models.UsersByPublicIDs(tx, []string{bob.PublicID}), []string{"id"}, lock, 1); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(2 * time.Second)
		tx.Commit() //nolint:errcheck
	}()
	body, _ := json.Marshal(map[string]any{"action": "set_status", "filter": map[string]any{"q": "bob"}, "params": map[string]any{"status": "suspended"}, "reason": "slow"})
	req, _ := http.NewRequest("POST", base+"/api/admin/users/bulk", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the bulk change got no answer: %v", err)
	}
	defer resp.Body.Close()
	var res struct {
		Changed int `json:"changed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || res.Changed != 1 {
		t.Fatalf("answer: %d %+v %v", resp.StatusCode, res, err)
	}
	if got := app.Reload(bob).Status; got != models.StatusSuspended {
		t.Fatalf("status %s", got)
	}
}

// Issue 15: assigning a plan with a period and no end date saved a
// subscription that never expired. A new plan without subscriptionExpiresAt
// now starts a period (now + the plan's periodDays); an explicit null still
// means no end, and re-sending the current plan changes nothing.
func TestAccountChanges_PlanWithoutExpiryStartsAPeriod(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	bob := app.Member("bob")
	p := "/api/admin/users/" + bob.PublicID
	setBilling(t, app, "period")
	plan := rc.POST("/api/admin/plans", map[string]any{"name": "Pro", "periodDays": 30}).Expect(201).Map()
	other := rc.POST("/api/admin/plans", map[string]any{"name": "Team", "periodDays": 365}).Expect(201).Map()
	expiry := func(d map[string]any) *time.Time {
		t.Helper()
		s := d["user"].(map[string]any)["subscription"].(map[string]any)["expiresAt"]
		if s == nil {
			return nil
		}
		at, err := time.Parse(time.RFC3339Nano, s.(string))
		if err != nil {
			t.Fatal(err)
		}
		return &at
	}
	near := func(at *time.Time, want time.Time) {
		t.Helper()
		if at == nil || at.Sub(want).Abs() > time.Minute {
			t.Fatalf("expiry %v, want about %v", at, want)
		}
	}
	first := expiry(rc.PATCH(p, map[string]any{"planId": plan["id"]}).Expect(200).Map())
	near(first, app.Clock.Now().Add(30*24*time.Hour))
	// The same plan again: nothing changes.
	if again := expiry(rc.PATCH(p, map[string]any{"planId": plan["id"]}).Expect(200).Map()); again == nil || !again.Equal(*first) {
		t.Fatalf("re-sent plan moved the expiry: %v -> %v", first, again)
	}
	// Another plan: a new period of that plan's length.
	near(expiry(rc.PATCH(p, map[string]any{"planId": other["id"]}).Expect(200).Map()), app.Clock.Now().Add(365*24*time.Hour))
	// An explicit expiry wins; an explicit null means no end.
	at := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := expiry(rc.PATCH(p, map[string]any{"planId": plan["id"], "subscriptionExpiresAt": at}).Expect(200).Map()); got == nil || !got.Equal(at) {
		t.Fatalf("explicit expiry: %v", got)
	}
	if got := expiry(rc.PATCH(p, map[string]any{"planId": other["id"], "subscriptionExpiresAt": nil}).Expect(200).Map()); got != nil {
		t.Fatalf("explicit null: %v", got)
	}
	// Removing the plan leaves the expiry as sent (none here).
	rc.PATCH(p, map[string]any{"planId": nil}).Expect(200)
}

// TestAccountChanges_NoOpsEveryKind: every change kind, sent with the
// value an account already has, is reported as unchanged and leaves no
// trace: language, balance (set to the balance, add 0), unlock of an
// unlocked account, reset 2FA without a second factor and revoke without
// a session through bulk (by ids and by filter, preview and run, changed
// 0 of 2 matched); the same through the single endpoints, plus the
// profile fields (display name, address, verified, phone, preferences)
// and the billing fields of period mode (plan, subscription end) sent
// back as they are. No audit row, no ledger row, no email, and the
// accounts' stored state and updated_at stay as they were.
// (Status, role and time zone: TestAccountChanges_NoOps.)
func TestAccountChanges_NoOpsEveryKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	rc := app.LoginAs(app.SuperAdmin("root"))
	a := app.CreateUser(testkit.UserSpec{Username: "noop-ann", Email: "noop-ann@example.com"})
	b := app.CreateUser(testkit.UserSpec{Username: "noop-bob", Email: "noop-bob@example.com"})
	pa, pb := "/api/admin/users/"+a.PublicID, "/api/admin/users/"+b.PublicID
	// The state the no-ops resend, set up before the history is counted.
	setBilling(t, app, "period")
	plan := rc.POST("/api/admin/plans", map[string]any{"name": "Pro", "periodDays": 30}).Expect(201).Map()
	rc.PATCH(pa, map[string]any{"planId": plan["id"], "subscriptionExpiresAt": "2031-01-02T03:04:05Z"}).Expect(200)
	setBilling(t, app, "usage")
	for _, p := range []string{pa, pb} {
		rc.PATCH(p, map[string]any{"displayName": "Noop Person", "phone": "+49 30 1234", "language": "zh-CN", "preferences": map[string]any{"theme": "dark", "n": 2}, "emailVerified": true}).Expect(200)
		rc.POST(p+"/balance", map[string]any{"mode": "set", "amount": 300}).Expect(200)
	}
	type snapshot struct {
		state     map[string]any
		updatedAt time.Time
		ledger    []ledgerRow
	}
	snap := func(u *testkit.User) snapshot {
		r := app.Reload(u)
		return snapshot{storedState(t, app, u.ID), r.UpdatedAt, ledgerOf(t, app, u.ID)}
	}
	before := map[string]snapshot{a.PublicID: snap(a), b.PublicID: snap(b)}
	var user struct {
		User map[string]any `json:"user"`
	}
	rc.GET(pa).Expect(200).JSON(&user)
	sub := user.User["subscription"].(map[string]any)
	if user.User["language"] != "zh-CN" || user.User["balance"] != float64(300) || sub["planId"] == nil || sub["expiresAt"] == nil || user.User["emailVerified"] != true {
		t.Fatalf("set-up state: %v", user.User)
	}
	var outbox int64
	countOutbox := func() int64 {
		n, err := app.Svc.DB.NewSelect().Table("mail_outbox").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	outbox = countOutbox()
	since := lastAuditID(t, app)
	app.Clock.Advance(time.Minute) // a write would move updated_at

	ids := []string{a.PublicID, b.PublicID}
	for _, body := range []map[string]any{
		{"action": "set_language", "params": map[string]any{"language": "zh-CN"}},
		{"action": "set_balance", "params": map[string]any{"amount": 300}},
		{"action": "add_balance", "params": map[string]any{"amount": 0}},
		{"action": "unlock"},
		{"action": "reset_2fa"},
		{"action": "revoke_sessions"},
	} {
		body["reason"] = "again"
		for _, target := range []map[string]any{{"publicIds": ids}, {"filter": map[string]any{"q": "noop"}}} {
			for _, dry := range []bool{true, false} {
				delete(body, "publicIds")
				delete(body, "filter")
				for k, v := range target {
					body[k] = v
				}
				body["dryRun"] = dry
				var res struct {
					Changed int             `json:"changed"`
					Matched int             `json:"matched"`
					BatchID string          `json:"batchId"`
					Refused json.RawMessage `json:"refused"`
				}
				rc.POST("/api/admin/users/bulk", body).Expect(200).JSON(&res)
				if res.Changed != 0 || res.Matched != 2 || res.BatchID != "" || string(res.Refused) != "[]" {
					t.Errorf("bulk %v by %v dry=%v: %+v", body["action"], target, dry, res)
				}
			}
		}
	}
	rc.PATCH(pa, map[string]any{"displayName": "Noop Person", "email": "noop-ann@example.com", "emailVerified": true, "phone": "+49 30 1234",
		"language": "zh-CN", "timezone": "UTC", "preferences": map[string]any{"n": 2, "theme": "dark"}, "reason": "again"}).Expect(200)
	setBilling(t, app, "period")
	rc.PATCH(pa, map[string]any{"planId": sub["planId"], "subscriptionExpiresAt": sub["expiresAt"], "reason": "again"}).Expect(200)
	rc.PATCH(pa, map[string]any{"planId": sub["planId"], "reason": "again"}).Expect(200) // the same plan: no new period
	setBilling(t, app, "usage")
	rc.POST(pa+"/balance", map[string]any{"mode": "set", "amount": 300, "reason": "again"}).Expect(200)
	rc.POST(pa+"/balance", map[string]any{"mode": "add", "amount": 0, "reason": "again"}).Expect(200)
	rc.POST(pa+"/unlock", map[string]any{"reason": "again"}).Expect(200)
	rc.POST(pa+"/reset-2fa", map[string]any{"reason": "again"}).Expect(200)
	var revoked struct {
		Revoked int64 `json:"revoked"`
	}
	rc.POST(pa+"/revoke-sessions", map[string]any{"reason": "again"}).Expect(200).JSON(&revoked)
	if revoked.Revoked != 0 {
		t.Errorf("revoke without sessions: revoked %d", revoked.Revoked)
	}

	if rows := append(auditOf(t, app, a.PublicID, since), auditOf(t, app, b.PublicID, since)...); len(rows) != 0 {
		t.Errorf("no-op changes wrote history: %+v", rows)
	}
	if n := countOutbox(); n != outbox {
		t.Errorf("no-op changes queued %d emails", n-outbox)
	}
	for _, u := range []*testkit.User{a, b} {
		if got, want := snap(u), before[u.PublicID]; !reflect.DeepEqual(got.state, want.state) || !got.updatedAt.Equal(want.updatedAt) || !reflect.DeepEqual(got.ledger, want.ledger) {
			t.Errorf("%s changed:\nbefore %+v\nafter  %+v", u.Username, want, got)
		}
	}
	var after struct {
		User map[string]any `json:"user"`
	}
	rc.GET(pa).Expect(200).JSON(&after)
	if !reflect.DeepEqual(after.User, user.User) {
		t.Errorf("account detail changed:\nbefore %v\nafter  %v", user.User, after.User)
	}
	accountInvariants(t, app, "after no-ops")
}

// whileActorChanged sends req while another transaction changes actor's
// row (role and status, as another administrator demoting or suspending
// it would) and holds the rows of hold: the request's session was read
// before the change, and the request's change waits for that transaction
// (SQLite: the write lock; PostgreSQL: the rows of hold, which the test
// waits to see the request blocked on in pg_stat_activity) and then plans
// after it committed. Actor's row is restored afterwards.
func whileActorChanged(t *testing.T, app *testkit.App, actor *testkit.User, role, status string, hold []int64, req func() *testkit.Response) *testkit.Response {
	t.Helper()
	ctx := context.Background()
	set := func(db bun.IDB, role, status string) {
		t.Helper()
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("role = ?", role).Set("status = ?", status).Where("id = ?", actor.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := app.Reload(actor)
	tx, err := app.Svc.DB.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE holds the database
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	set(tx, role, status)
	if len(hold) > 0 {
		if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("updated_at = updated_at").Where("id IN (?)", bun.In(hold)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan *testkit.Response, 1)
	go func() { done <- req() }()
	if models.IsSQLite(app.Svc.DB) {
		time.Sleep(time.Second) // the request waits for the write lock (busy_timeout 5 s)
	} else {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			if err := app.Svc.DB.NewRaw("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the request never waited for the actor's change")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	set(app.Svc.DB, before.Role, before.Status)
	return r
}

// TestAccountChanges_ActorReadAgainUnderTheLock: an administrator demoted
// or suspended by another between the start of their request (the
// session, with the old role) and the engine's lock cannot make a change
// that needs the old role or status. The engine reads the actor's role
// and status again under the lock: a super administrator demoted to
// administrator may no longer grant super administrator (403
// super_admin_grant) nor change a super administrator (403
// super_admin_protected); an administrator suspended, deactivated or
// demoted to user is refused as a whole (403 forbidden), single and bulk.
// Nothing changes and no history row is written. Before, every one of
// these went through (200) with the session's role.
func TestAccountChanges_ActorReadAgainUnderTheLock(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	rc := app.LoginAs(root)
	ann := app.Admin("ann")
	ac := app.LoginAs(ann)
	sam := app.SuperAdmin("sam")
	u1, u2 := app.Member("uma"), app.Member("ulf")
	for _, c := range []struct {
		what         string
		actor        *testkit.User
		role, status string
		hold         []*testkit.User
		req          func() *testkit.Response
		code         string
	}{
		{"demoted super admin grants super admin", root, models.RoleAdmin, models.StatusActive, []*testkit.User{u1},
			func() *testkit.Response {
				return rc.PATCH("/api/admin/users/"+u1.PublicID, map[string]any{"role": "super_admin"})
			}, "super_admin_grant"},
		{"demoted super admin suspends a super admin", root, models.RoleAdmin, models.StatusActive, []*testkit.User{sam},
			func() *testkit.Response {
				return rc.POST("/api/admin/users/"+sam.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"})
			}, "super_admin_protected"},
		{"demoted super admin renames a super admin", root, models.RoleAdmin, models.StatusActive, []*testkit.User{sam},
			func() *testkit.Response {
				return rc.PATCH("/api/admin/users/"+sam.PublicID, map[string]any{"displayName": "Renamed"})
			}, "super_admin_protected"},
		{"demoted super admin, bulk grant", root, models.RoleAdmin, models.StatusActive, []*testkit.User{u1, u2},
			func() *testkit.Response {
				return rc.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "publicIds": []string{u1.PublicID, u2.PublicID}, "params": map[string]any{"role": "super_admin"}, "skipRefused": true})
			}, "super_admin_grant"},
		{"super admin demoted to user", root, models.RoleUser, models.StatusActive, []*testkit.User{u1},
			func() *testkit.Response {
				return rc.POST("/api/admin/users/"+u1.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"})
			}, "forbidden"},
		{"suspended admin suspends", ann, models.RoleAdmin, models.StatusSuspended, []*testkit.User{u1},
			func() *testkit.Response {
				return ac.POST("/api/admin/users/"+u1.PublicID+"/status", map[string]any{"status": "suspended", "reason": "x"})
			}, "forbidden"},
		{"deactivated admin renames", ann, models.RoleAdmin, models.StatusDeactivated, []*testkit.User{u1},
			func() *testkit.Response {
				return ac.PATCH("/api/admin/users/"+u1.PublicID, map[string]any{"displayName": "Renamed"})
			}, "forbidden"},
		{"suspended admin, bulk delete", ann, models.RoleAdmin, models.StatusSuspended, []*testkit.User{u1, u2},
			func() *testkit.Response {
				return ac.POST("/api/admin/users/bulk", map[string]any{"action": "delete", "publicIds": []string{u1.PublicID, u2.PublicID}, "skipRefused": true})
			}, "forbidden"},
	} {
		since := lastAuditID(t, app)
		var hold []int64
		before := map[int64]*models.User{}
		for _, h := range c.hold {
			hold = append(hold, h.ID)
			before[h.ID] = app.Reload(h)
		}
		r := whileActorChanged(t, app, c.actor, c.role, c.status, hold, c.req)
		if r.Expect(403); r.ErrorCode() != c.code {
			t.Fatalf("%s: %s, want %s", c.what, r.Body, c.code)
		}
		for _, h := range c.hold {
			u := app.Reload(h)
			if b := before[h.ID]; u.Role != b.Role || u.Status != b.Status || u.DisplayName != b.DisplayName {
				t.Fatalf("%s: %s changed: %s/%s %q", c.what, h.Username, u.Role, u.Status, u.DisplayName)
			}
			if rows := auditOf(t, app, h.PublicID, since); len(rows) != 0 {
				t.Fatalf("%s: history of %s: %+v", c.what, h.Username, rows)
			}
		}
		accountInvariants(t, app, c.what)
	}
	// The same requests without a change of the actor still go through.
	rc.PATCH("/api/admin/users/"+sam.PublicID, map[string]any{"displayName": "Renamed"}).Expect(200)
	ac.PATCH("/api/admin/users/"+u1.PublicID, map[string]any{"displayName": "Renamed"}).Expect(200)
}

// TestAccountChanges_CreateReadsActorAgain: creating an account reads the
// acting administrator's role and status again inside its transaction
// (locking the row on PostgreSQL until it commits), as the change engine
// does: a super administrator demoted while the request was under way may
// no longer create a super administrator (403 super_admin_grant), and an
// administrator suspended meanwhile creates nothing (403 forbidden). Before,
// both were created with the session's role.
func TestAccountChanges_CreateReadsActorAgain(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	rc := app.LoginAs(root)
	ann := app.Admin("ann")
	ac := app.LoginAs(ann)
	for _, c := range []struct {
		what, username string
		actor          *testkit.User
		client         *testkit.Client
		newRole        string
		role, status   string
		code           string
	}{
		{"demoted super admin creates a super admin", "boss", root, rc, models.RoleSuperAdmin, models.RoleAdmin, models.StatusActive, "super_admin_grant"},
		{"suspended admin creates a user", "newbie", ann, ac, models.RoleUser, models.RoleAdmin, models.StatusSuspended, "forbidden"},
		{"admin demoted to user creates a user", "newbie2", ann, ac, models.RoleUser, models.RoleUser, models.StatusActive, "forbidden"},
	} {
		r := whileActorChanged(t, app, c.actor, c.role, c.status, nil, func() *testkit.Response {
			return c.client.POST("/api/admin/users", map[string]any{"username": c.username, "password": "meadow-copper-4417", "role": c.newRole})
		})
		if r.Expect(403); r.ErrorCode() != c.code {
			t.Fatalf("%s: %s, want %s", c.what, r.Body, c.code)
		}
		if n, err := app.Svc.DB.NewSelect().Model((*models.User)(nil)).Where("username = ?", c.username).Count(context.Background()); err != nil || n != 0 {
			t.Fatalf("%s: %d accounts named %s (%v)", c.what, n, c.username, err)
		}
		accountInvariants(t, app, c.what)
	}
	// Without a change of the actor the same requests go through.
	rc.POST("/api/admin/users", map[string]any{"username": "boss", "password": "meadow-copper-4417", "role": models.RoleSuperAdmin}).Expect(201)
	ac.POST("/api/admin/users", map[string]any{"username": "newbie", "password": "meadow-copper-4417", "role": models.RoleUser}).Expect(201)
}
