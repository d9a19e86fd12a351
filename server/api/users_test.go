package api_test

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

type userList struct {
	Items []struct {
		PublicID    string  `json:"publicId"`
		Username    string  `json:"username"`
		DisplayName string  `json:"displayName"`
		Email       *string `json:"email"`
		Role        string  `json:"role"`
		Status      string  `json:"status"`
	} `json:"items"`
	Total           int64 `json:"total"`
	TotalIsEstimate bool  `json:"totalIsEstimate"`
}

func (l userList) names() []string {
	out := make([]string, len(l.Items))
	for i, it := range l.Items {
		out[i] = it.Username
	}
	return out
}

func TestUserListSearchFilterSort(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.SuperAdmin("alice")
	app.Member("bobby")
	app.CreateUser(testkit.UserSpec{Username: "carol", Email: "carol@corp.example", Status: models.StatusSuspended})
	app.Admin("dave")
	c := app.LoginAs(alice)

	var l userList
	c.GET("/api/admin/users").Expect(200).JSON(&l)
	if got := strings.Join(l.names(), ","); got != "dave,carol,bobby,alice" || l.Total != 4 {
		t.Fatalf("default sort -id: %s (total %d)", got, l.Total)
	}
	c.GET("/api/admin/users?sort=id").Expect(200).JSON(&l)
	if got := strings.Join(l.names(), ","); got != "alice,bobby,carol,dave" {
		t.Fatalf("sort id: %s", got)
	}
	// Substring over username, display name, email and public ID, any case.
	for q, want := range map[string]string{"OBB": "bobby", "corp.EXAMPLE": "carol", "lic": "alice", "bo": "bobby"} {
		c.GET("/api/admin/users?q=" + url.QueryEscape(q)).Expect(200).JSON(&l)
		if got := strings.Join(l.names(), ","); got != want {
			t.Errorf("q=%s: %s, want %s", q, got, want)
		}
	}
	c.GET("/api/admin/users?q=" + alice.PublicID).Expect(200).JSON(&l)
	if len(l.Items) == 0 || l.Items[0].Username != "alice" {
		t.Fatalf("public ID search: %v", l.names())
	}
	c.GET("/api/admin/users?status=suspended").Expect(200).JSON(&l)
	if got := strings.Join(l.names(), ","); got != "carol" {
		t.Fatalf("status filter: %s", got)
	}
	c.GET("/api/admin/users?role=admin&status=active").Expect(200).JSON(&l)
	if got := strings.Join(l.names(), ","); got != "dave" {
		t.Fatalf("role filter: %s", got)
	}
	// alice signed in; the others never did: they sort last for -last_login.
	c.GET("/api/admin/users?sort=-last_login").Expect(200).JSON(&l)
	if l.Items[0].Username != "alice" {
		t.Fatalf("-last_login: %v", l.names())
	}
	c.GET("/api/admin/users?perPage=2&page=2&sort=id").Expect(200).JSON(&l)
	if got := strings.Join(l.names(), ","); got != "carol,dave" || l.Total != 4 {
		t.Fatalf("page 2: %s", got)
	}
	// Injection attempts and unknown values are 400s with field errors.
	for _, q := range []string{"sort=name;--", "sort=password_hash", "sort=-id,1", "role=root", "status=x'--", "perPage=1000", "page=0", "twoFactor=maybe", "dormantDays=-1", "locked=1"} {
		r := c.GET("/api/admin/users?" + q).Expect(400)
		if len(r.Fields()) == 0 && r.ErrorCode() != "invalid_query" {
			t.Errorf("%s: no field errors: %s", q, r.Body)
		}
	}
	// No secret in a list answer.
	body := string(c.GET("/api/admin/users?perPage=100").Expect(200).Body)
	for _, bad := range []string{"argon2id", "password_hash", "passwordHash", "totp"} {
		if strings.Contains(body, bad) {
			t.Fatalf("list leaks %q", bad)
		}
	}
}

func TestCreateAndEditUser(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.LoginAs(app.Admin("alice"))
	r := c.POST("/api/admin/users", map[string]any{"username": "x", "password": "short", "email": "nope", "timezone": "Mars/Olympus", "language": "!!"}).Expect(422)
	f := r.Fields()
	for _, k := range []string{"username", "password", "email", "timezone", "language"} {
		if f[k] == "" {
			t.Errorf("no error for %s: %v", k, f)
		}
	}
	if n, _ := models.CountUsers(t.Context(), app.Svc.DB); n != 1 {
		t.Fatalf("a refused create wrote a row: %d users", n)
	}
	var created struct {
		PublicID string `json:"publicId"`
		Role     string `json:"role"`
	}
	c.POST("/api/admin/users", map[string]any{"username": "erin", "password": "Another-Long-Passphrase", "email": "erin@example.com", "timezone": "Asia/Shanghai", "language": "zh-CN", "preferences": map[string]any{"theme": "dark"}}).Expect(201).JSON(&created)
	if created.Role != "user" {
		t.Fatal(created.Role)
	}
	// An admin cannot create a super administrator.
	expectError(t, c.POST("/api/admin/users", map[string]any{"username": "frank", "password": "Another-Long-Passphrase", "role": "super_admin"}), 403, "super_admin_grant")
	r = c.POST("/api/admin/users", map[string]any{"username": "ERIN", "password": "Another-Long-Passphrase"}).Expect(422)
	if r.Fields()["username"] == "" {
		t.Fatal(r.Fields())
	}
	var d struct {
		User struct {
			DisplayName string `json:"displayName"`
			Timezone    string `json:"timezone"`
			Status      string `json:"status"`
		} `json:"user"`
		StatusHistory []struct {
			Action string `json:"action"`
			Reason string `json:"reason"`
		} `json:"statusHistory"`
	}
	c.PATCH("/api/admin/users/"+created.PublicID, map[string]any{"displayName": "Erin E.", "timezone": "Europe/Paris"}).Expect(200).JSON(&d)
	if d.User.DisplayName != "Erin E." || d.User.Timezone != "Europe/Paris" {
		t.Fatalf("%+v", d.User)
	}
	c.PATCH("/api/admin/users/"+created.PublicID, map[string]any{"passwordHash": "x"}).Expect(400)
	c.POST("/api/admin/users/"+created.PublicID+"/status", map[string]any{"status": "suspended", "reason": "chargeback"}).Expect(200).JSON(&d)
	if d.User.Status != "suspended" || len(d.StatusHistory) == 0 || d.StatusHistory[0].Reason != "chargeback" {
		t.Fatalf("%+v", d)
	}
	c.POST("/api/admin/users/"+created.PublicID+"/status", map[string]any{"status": "active"}).Expect(200)
	// Delete needs the username typed in.
	c.DELETE("/api/admin/users/" + created.PublicID + "?confirm=wrong").Expect(422)
	c.DELETE("/api/admin/users/" + created.PublicID + "?confirm=erin").Expect(204)
	c.GET("/api/admin/users/" + created.PublicID).Expect(404)
	if acts := app.AuditActions(created.PublicID); acts[len(acts)-1] != "user.deleted" {
		t.Fatalf("audit: %v", acts)
	}
}

func TestLeavingActiveEndsSessions(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	admin := app.LoginAs(app.Admin("alice"))
	bob := app.Member("bob")
	bobClient := app.LoginAs(bob)
	token := bobClient.POST("/api/auth/tokens", nil).Expect(201).Map()["token"].(string)
	admin.POST("/api/admin/users/"+bob.PublicID+"/status", map[string]any{"status": "suspended", "reason": "abuse"}).Expect(200)
	bobClient.GET("/api/me").Expect(401)
	app.Client().GET("/api/me", "Authorization", "Bearer "+token).Expect(401)
	// Suspended: the right password is refused, and says why.
	expectError(t, app.Client().POST("/api/auth/login", map[string]string{"identifier": "bob", "password": bob.Password}), 403, "account_suspended")
	admin.POST("/api/admin/users/"+bob.PublicID+"/status", map[string]any{"status": "active"}).Expect(200)
	app.LoginAs(bob)
}

func TestProtections(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	admin := app.Admin("alice")
	ac := app.LoginAs(admin)
	rc := app.LoginAs(root)
	// An admin cannot touch a super administrator.
	for _, r := range []*testkit.Response{
		ac.PATCH("/api/admin/users/"+root.PublicID, map[string]any{"displayName": "x"}),
		ac.POST("/api/admin/users/"+root.PublicID+"/status", map[string]any{"status": "suspended"}),
		ac.POST("/api/admin/users/"+root.PublicID+"/revoke-sessions", nil),
		ac.DELETE("/api/admin/users/" + root.PublicID + "?confirm=root"),
	} {
		r.Expect(403)
		if r.ErrorCode() != "super_admin_protected" {
			t.Fatal(r.ErrorCode())
		}
	}
	// Nor grant the role.
	bob := app.Member("bob")
	if r := ac.PATCH("/api/admin/users/"+bob.PublicID, map[string]any{"role": "super_admin"}).Expect(403); r.ErrorCode() != "super_admin_grant" {
		t.Fatal(r.ErrorCode())
	}
	// Nobody changes their own role or status or deletes themselves here.
	for _, r := range []*testkit.Response{
		ac.PATCH("/api/admin/users/"+admin.PublicID, map[string]any{"role": "user"}),
		ac.POST("/api/admin/users/"+admin.PublicID+"/status", map[string]any{"status": "suspended"}),
		ac.DELETE("/api/admin/users/" + admin.PublicID + "?confirm=alice"),
		rc.PATCH("/api/admin/users/"+root.PublicID, map[string]any{"role": "admin"}),
	} {
		r.Expect(409)
		if r.ErrorCode() != "self_change" {
			t.Fatal(r.ErrorCode())
		}
	}
	// A super admin may demote a super admin, but not the last one.
	root2 := app.SuperAdmin("root2")
	rc.PATCH("/api/admin/users/"+root2.PublicID, map[string]any{"role": "admin"}).Expect(200)
	if r := app.LoginAs(root2).GET("/api/me").Expect(200).Map(); r["role"] != "admin" {
		t.Fatal(r["role"])
	}
}

// Two super administrators suspending, demoting or deleting each other at
// the same instant must always leave one active super administrator.
func TestLastSuperAdminUnderConcurrency(t *testing.T) {
	t.Parallel()
	for round := 0; round < 15; round++ {
		// A subtest per round: its app (and, on PostgreSQL, its database
		// connections) is closed when the round ends, not when all 15 do.
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) { lastSuperAdminRound(t, round) })
	}
}

func lastSuperAdminRound(t *testing.T, round int) {
	app := testkit.NewApp(t)
	a, b := app.SuperAdmin("alpha"), app.SuperAdmin("beta")
	ca, cb := app.LoginAs(a), app.LoginAs(b)
	actions := []func(c *testkit.Client, target *testkit.User) *testkit.Response{
		func(c *testkit.Client, tg *testkit.User) *testkit.Response {
			return c.POST("/api/admin/users/"+tg.PublicID+"/status", map[string]any{"status": "suspended"})
		},
		func(c *testkit.Client, tg *testkit.User) *testkit.Response {
			return c.PATCH("/api/admin/users/"+tg.PublicID, map[string]any{"role": "user"})
		},
		func(c *testkit.Client, tg *testkit.User) *testkit.Response {
			return c.DELETE("/api/admin/users/" + tg.PublicID + "?confirm=" + tg.Username)
		},
		func(c *testkit.Client, tg *testkit.User) *testkit.Response {
			return c.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": []string{tg.PublicID}, "params": map[string]any{"status": "deactivated"}})
		},
	}
	act := actions[round%len(actions)]
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); act(ca, b) }()
	go func() { defer wg.Done(); act(cb, a) }()
	wg.Wait()
	n, err := models.CountActiveSuperAdmins(t.Context(), app.Svc.DB)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("round %d: no active super administrator left", round)
	}
}

func TestBulkDryRunAndAllOrNothing(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	admin := app.Admin("alice")
	ac := app.LoginAs(admin)
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, app.Member(fmt.Sprintf("member%d", i)).PublicID)
	}
	mixed := append(append([]string{}, ids...), root.PublicID, admin.PublicID, "nonexistent")
	var res struct {
		DryRun  bool   `json:"dryRun"`
		Matched int    `json:"matched"`
		Changed int    `json:"changed"`
		BatchID string `json:"batchId"`
		Refused []struct {
			PublicID string `json:"publicId"`
			Code     string `json:"code"`
		} `json:"refused"`
	}
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": mixed, "params": map[string]any{"status": "suspended"}, "reason": "spam wave", "dryRun": true}).Expect(200).JSON(&res)
	codes := map[string]string{}
	for _, r := range res.Refused {
		codes[r.PublicID] = r.Code
	}
	if res.Changed != 3 || codes[root.PublicID] != "super_admin_protected" || codes[admin.PublicID] != "self_change" || codes["nonexistent"] != "not_found" {
		t.Fatalf("preview: %+v", res)
	}
	// The real run with refusals changes nothing unless told to skip them.
	r := ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": mixed, "params": map[string]any{"status": "suspended"}, "reason": "spam wave"}).Expect(409)
	if r.ErrorCode() != "bulk_refused" {
		t.Fatal(r.ErrorCode())
	}
	var l userList
	ac.GET("/api/admin/users?status=suspended").Expect(200).JSON(&l)
	if l.Total != 0 {
		t.Fatalf("a refused bulk run changed %d accounts", l.Total)
	}
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": mixed, "params": map[string]any{"status": "suspended"}, "reason": "spam wave", "skipRefused": true}).Expect(200).JSON(&res)
	if res.Changed != 3 || res.BatchID == "" {
		t.Fatalf("%+v", res)
	}
	ac.GET("/api/admin/users?status=suspended").Expect(200).JSON(&l)
	if l.Total != 3 {
		t.Fatalf("suspended: %d", l.Total)
	}
	var audit struct {
		Items []struct {
			BatchID string `json:"batchId"`
			Reason  string `json:"reason"`
		} `json:"items"`
	}
	ac.GET("/api/admin/audit?action=user.status_changed").Expect(200).JSON(&audit)
	if len(audit.Items) != 3 || audit.Items[0].BatchID != res.BatchID || audit.Items[0].Reason != "spam wave" {
		t.Fatalf("audit: %+v", audit)
	}
	// Balance (usage billing mode): add by filter, refusing to go negative.
	setBilling(t, app, "usage")
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "filter": map[string]any{"status": "suspended"}, "params": map[string]any{"amount": 500}, "reason": "credit"}).Expect(200)
	r = ac.POST("/api/admin/users/bulk", map[string]any{"action": "add_balance", "filter": map[string]any{"status": "suspended"}, "params": map[string]any{"amount": -600}})
	r.Expect(409)
	ac.GET("/api/admin/users/" + ids[0] + "/ledger").Expect(200).JSON(&audit)
	if len(audit.Items) != 1 {
		t.Fatalf("ledger: %+v", audit)
	}
	// Bad requests.
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "explode", "publicIds": ids}).Expect(422)
	expectError(t, ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_role", "publicIds": ids, "params": map[string]any{"role": "super_admin"}}), 403, "super_admin_grant")
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "delete", "filter": map[string]any{"sort": "x"}}).Expect(400)
	big := make([]string, 10001)
	for i := range big {
		big[i] = fmt.Sprint(i)
	}
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "delete", "publicIds": big}).Expect(413)
}

func TestBalanceAndPlans(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ac := app.LoginAs(app.Admin("alice"))
	bob := app.Member("bob")
	path := "/api/admin/users/" + bob.PublicID
	setBilling(t, app, "usage")
	ac.POST(path+"/balance", map[string]any{"mode": "add", "amount": 1250, "reason": "top-up"}).Expect(200)
	if r := ac.POST(path+"/balance", map[string]any{"mode": "add", "amount": -2000}).Expect(422); r.ErrorCode() != "negative_balance" {
		t.Fatal(r.ErrorCode())
	}
	d := ac.POST(path+"/balance", map[string]any{"mode": "add", "amount": -2000, "allowNegative": true}).Expect(200).Map()
	if d["user"].(map[string]any)["balance"] != float64(-750) {
		t.Fatal(d["user"])
	}
	ac.POST(path+"/balance", map[string]any{"mode": "add", "amount": 1.5}).Expect(400)
	var ledger struct {
		Items []struct {
			Amount       int64 `json:"amount"`
			BalanceAfter int64 `json:"balanceAfter"`
		} `json:"items"`
	}
	ac.GET(path + "/ledger").Expect(200).JSON(&ledger)
	if len(ledger.Items) != 2 || ledger.Items[0].BalanceAfter != -750 || ledger.Items[1].Amount != 1250 {
		t.Fatalf("%+v", ledger)
	}
	setBilling(t, app, "period")
	plan := ac.POST("/api/admin/plans", map[string]any{"name": "Pro", "periodDays": 30, "priceMinor": 999}).Expect(201).Map()
	id := fmt.Sprint(plan["id"])
	ac.POST("/api/admin/plans", map[string]any{"name": "pro", "periodDays": 30}).Expect(422)
	ac.PATCH(path, map[string]any{"planId": plan["id"], "subscriptionExpiresAt": "2020-01-01T00:00:00Z"}).Expect(200)
	var l userList
	ac.GET("/api/admin/users?subscription=expired").Expect(200).JSON(&l)
	if len(l.Items) != 1 || l.Items[0].Username != "bob" {
		t.Fatalf("expired: %v", l.names())
	}
	if r := ac.DELETE("/api/admin/plans/" + id).Expect(409); r.ErrorCode() != "plan_in_use" {
		t.Fatal(r.ErrorCode())
	}
	ac.PATCH(path, map[string]any{"planId": nil}).Expect(200)
	ac.DELETE("/api/admin/plans/" + id).Expect(204)
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ac := app.LoginAs(app.Admin("alice"))
	app.CreateUser(testkit.UserSpec{Username: "mallory", Email: "mallory@example.com"})
	ac.PATCH("/api/admin/users/"+app.Reload(&testkit.User{User: mustUser(t, app, "mallory")}).PublicID, map[string]any{"displayName": "=HYPERLINK(\"http://evil\")"}).Expect(200)
	ac.SkipSpec = true
	r := ac.GET("/api/admin/users/export.csv?q=mallory").Expect(200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatal(r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][1] != "mallory" || !strings.HasPrefix(rows[1][2], "'=") {
		t.Fatalf("%q", rows)
	}
	if strings.Contains(string(r.Body), "argon2id") {
		t.Fatal("export leaks a hash")
	}
	ac.GET("/api/admin/users/export.csv?sort=evil").Expect(400)
}

func mustUser(t *testing.T, app *testkit.App, name string) *models.User {
	u, err := models.UserByUsername(t.Context(), app.Svc.DB, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
