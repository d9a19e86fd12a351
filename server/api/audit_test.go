package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

type auditPage struct {
	Items []struct {
		ID             int64          `json:"id"`
		CreatedAt      time.Time      `json:"createdAt"`
		Action         string         `json:"action"`
		ActorPublicID  string         `json:"actorPublicId"`
		ActorUsername  string         `json:"actorUsername"`
		TargetPublicID string         `json:"targetPublicId"`
		TargetLabel    string         `json:"targetLabel"`
		IP             string         `json:"ip"`
		UserAgent      string         `json:"userAgent"`
		Details        map[string]any `json:"details"`
	} `json:"items"`
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"perPage"`
}

func listAudit(t *testing.T, c *testkit.Client, q url.Values) auditPage {
	t.Helper()
	var p auditPage
	c.GET("/api/admin/audit?" + q.Encode()).Expect(http.StatusOK).JSON(&p)
	return p
}

func TestAuditLogAccess(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	bob := app.Member("bob")
	admin := app.Admin("ada")
	expectError(t, app.Client().GET("/api/admin/audit"), http.StatusUnauthorized, "unauthenticated")
	expectError(t, app.LoginAs(bob).GET("/api/admin/audit"), http.StatusForbidden, "forbidden")
	app.LoginAs(admin).GET("/api/admin/audit").Expect(http.StatusOK)
}

func TestAuditLogRecordsSignIns(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	alice := app.Member("alice")
	c := app.Client()
	c.Header.Set("User-Agent", "TestBrowser/1.0")
	c.POST("/api/auth/login", creds("alice", alice.Password)).Expect(http.StatusOK)
	app.Clock.Advance(time.Minute)
	app.Client().POST("/api/auth/login", creds("alice", "typo-password-77")).Expect(http.StatusUnauthorized)
	app.Client().POST("/api/auth/login", creds("ghost@example.com", "typo-password-78")).Expect(http.StatusUnauthorized)
	app.Clock.Advance(time.Minute)
	admin := app.LoginAs(root)

	p := listAudit(t, admin, url.Values{"target": {"alice"}})
	if p.Total != 3 || len(p.Items) != 3 {
		t.Fatalf("alice's audit: %+v", p)
	}
	// Newest first.
	if p.Items[0].Action != service.ActionLoginFailed || p.Items[1].Action != service.ActionLoginSucceeded || p.Items[2].Action != service.ActionUserCreatedByShell {
		t.Fatalf("order: %s, %s, %s", p.Items[0].Action, p.Items[1].Action, p.Items[2].Action)
	}
	ok := p.Items[1]
	if ok.ActorPublicID != alice.PublicID || ok.TargetPublicID != alice.PublicID || ok.IP != "127.0.0.1" || ok.UserAgent != "TestBrowser/1.0" ||
		ok.Details["method"] != "password" || ok.Details["sessionId"] == "" {
		t.Fatalf("sign-in row %+v", ok)
	}
	if bad := p.Items[0]; bad.Details["reason"] != "wrong_password" || bad.ActorPublicID != "" {
		t.Fatalf("failed sign-in row %+v", bad)
	}
	// An unknown identifier is recorded as what was tried.
	p = listAudit(t, admin, url.Values{"action": {service.ActionLoginFailed}})
	var ghost bool
	for _, it := range p.Items {
		if it.Details["reason"] == "unknown_account" && it.Details["identifier"] == "ghost@example.com" && it.TargetPublicID == "" {
			ghost = true
		}
	}
	if !ghost || p.Total != 2 {
		t.Fatalf("failed sign-ins: %+v", p)
	}
	// Typed passwords are never recorded.
	for _, it := range listAudit(t, admin, url.Values{"perPage": {"100"}}).Items {
		for _, v := range it.Details {
			if s, _ := v.(string); strings.Contains(s, "typo-password") || strings.Contains(s, alice.Password) {
				t.Fatalf("audit row %d holds a password: %v", it.ID, it.Details)
			}
		}
	}
}

func TestAuditLogFilters(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	alice := app.Member("alice")
	start := app.Clock.Now()
	for i := 0; i < 3; i++ {
		app.Clock.Advance(time.Hour)
		app.LoginAs(alice)
	}
	app.Clock.Advance(time.Hour)
	admin := app.LoginAs(root)

	if p := listAudit(t, admin, url.Values{"action": {"auth."}}); p.Total != 4 {
		t.Fatalf("prefix auth.: %d rows", p.Total)
	}
	if p := listAudit(t, admin, url.Values{"action": {"auth"}}); p.Total != 0 {
		t.Fatalf("action without a dot is exact, got %d rows", p.Total)
	}
	if p := listAudit(t, admin, url.Values{"actor": {"alice"}}); p.Total != 3 {
		t.Fatalf("actor alice: %d", p.Total)
	}
	if p := listAudit(t, admin, url.Values{"actor": {alice.PublicID}, "action": {service.ActionLoginSucceeded}}); p.Total != 3 {
		t.Fatalf("actor by public ID: %d", p.Total)
	}
	if p := listAudit(t, admin, url.Values{"target": {root.PublicID}}); p.Total != 2 {
		t.Fatalf("target root: %d", p.Total)
	}
	from := start.Add(90 * time.Minute).Format(time.RFC3339)
	to := start.Add(210 * time.Minute).Format(time.RFC3339)
	if p := listAudit(t, admin, url.Values{"from": {from}, "to": {to}}); p.Total != 2 {
		t.Fatalf("time window: %d rows", p.Total)
	}
	// Pagination.
	p1 := listAudit(t, admin, url.Values{"perPage": {"2"}})
	p2 := listAudit(t, admin, url.Values{"perPage": {"2"}, "page": {"2"}})
	if p1.Total != 6 || len(p1.Items) != 2 || len(p2.Items) != 2 || p2.Page != 2 || p2.PerPage != 2 || p1.Items[1].ID <= p2.Items[0].ID {
		t.Fatalf("pages: %+v / %+v", p1, p2)
	}
	if p := listAudit(t, admin, url.Values{"page": {"99"}}); len(p.Items) != 0 || p.Total != 6 {
		t.Fatalf("page past the end: %+v", p)
	}
	// SQL-looking input is only data.
	if p := listAudit(t, admin, url.Values{"actor": {"' OR 1=1 --"}}); p.Total != 0 {
		t.Fatalf("injection matched %d rows", p.Total)
	}

	for _, q := range []url.Values{
		{"from": {"yesterday"}}, {"to": {"2026-13-01T00:00:00Z"}}, {"perPage": {"101"}}, {"perPage": {"0"}},
		{"page": {"0"}}, {"page": {"-1"}}, {"page": {"x"}}, {"actor": {strings.Repeat("a", 201)}},
	} {
		r := admin.GET("/api/admin/audit?" + q.Encode())
		expectError(t, r, http.StatusBadRequest, "invalid_query")
		for k := range q {
			if r.Fields()[k] == "" {
				t.Errorf("%v: field %s not named: %s", q, k, r.Body)
			}
		}
	}
}

func TestForwardedForIgnoredWithoutTrustedProxies(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	for _, xff := range []string{
		"203.0.113.7",
		"203.0.113.7, 198.51.100.2",
		"not-an-ip",
		", , ,",
		"1.2.3.4.5",
		"::ffff:zz",
		"[2001:db8::1]:443",
		"999.999.999.999",
		strings.Repeat("1.", 2000),
		"\u00e9\u00e9",
	} {
		c := app.Client()
		c.POST("/api/auth/login", creds("alice", alice.Password), "X-Forwarded-For", xff, "X-Real-IP", "203.0.113.8", "Forwarded", "for=203.0.113.9").Expect(http.StatusOK)
		c.GET("/api/me", "X-Forwarded-For", xff).Expect(http.StatusOK)
		app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1"), "X-Forwarded-For", xff).Expect(http.StatusUnauthorized)
	}
	for _, action := range []string{service.ActionLoginSucceeded, service.ActionLoginFailed} {
		for _, row := range auditRows(t, app, action, alice.PublicID) {
			if row.IP != "127.0.0.1" {
				t.Fatalf("%s recorded IP %q from an untrusted header", action, row.IP)
			}
		}
	}
	for _, s := range mySessions(app.LoginAs(alice)) {
		if s.IP != "127.0.0.1" {
			t.Fatalf("session IP %q", s.IP)
		}
	}
	if row := app.Reload(alice); row.LastLoginIP != "127.0.0.1" {
		t.Fatalf("last_login_ip %q", row.LastLoginIP)
	}
}

func TestForwardedForFromTrustedProxy(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithTrustedProxies("127.0.0.1"))
	alice := app.Member("alice")
	cases := []struct{ xff, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"198.51.100.2, 203.0.113.7", "203.0.113.7"}, // the nearest untrusted hop
		{"2001:db8::1", "2001:db8::1"},
		{"not-an-ip", "127.0.0.1"},
		{"", "127.0.0.1"},
	}
	for _, tc := range cases {
		var headers []string
		if tc.xff != "" {
			headers = []string{"X-Forwarded-For", tc.xff}
		}
		app.Client().POST("/api/auth/login", creds("alice", alice.Password), headers...).Expect(http.StatusOK)
		rows := auditRows(t, app, service.ActionLoginSucceeded, alice.PublicID)
		if got := rows[len(rows)-1].IP; got != tc.want {
			t.Errorf("X-Forwarded-For %q: recorded %q, want %q", tc.xff, got, tc.want)
		}
	}
	app.Client().POST("/api/auth/login", creds("alice", "wrong-password-1"), "X-Forwarded-For", "203.0.113.50").Expect(http.StatusUnauthorized)
	fails := auditRows(t, app, service.ActionLoginFailed, alice.PublicID)
	if len(fails) != 1 || fails[0].IP != "203.0.113.50" {
		t.Fatalf("failed sign-in rows %+v", fails)
	}
	// A proxy that is not on the list is not believed.
	other := testkit.NewApp(t, testkit.WithTrustedProxies("10.0.0.0/8"))
	bob := other.Member("bob")
	other.Client().POST("/api/auth/login", creds("bob", bob.Password), "X-Forwarded-For", "203.0.113.7").Expect(http.StatusOK)
	if rows := auditRows(t, other, service.ActionLoginSucceeded, bob.PublicID); rows[0].IP != "127.0.0.1" {
		t.Fatalf("untrusted peer's header believed: %q", rows[0].IP)
	}
}

// The target filter finds an account's rows by its public ID or username,
// also after the account is deleted, and other targets (an identity
// provider) by their reference or name.
func TestAuditTargetFilterFindsDeletedAccountsAndProviders(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app, admin := w.app, w.rc
	alice, bob := app.Member("alice"), app.Member("bob")
	app.LoginAs(bob)
	app.LoginAs(alice)
	admin.DELETE("/api/admin/users/" + bob.PublicID + "?confirm=bob").Expect(http.StatusNoContent)

	for _, target := range []string{"bob", bob.PublicID} {
		p := listAudit(t, admin, url.Values{"target": {target}})
		actions := map[string]bool{}
		for _, it := range p.Items {
			if it.TargetPublicID != bob.PublicID {
				t.Fatalf("target %q found a row about %q", target, it.TargetLabel)
			}
			actions[it.Action] = true
		}
		if p.Total != 3 || !actions[service.ActionUserDeleted] || !actions[service.ActionLoginSucceeded] {
			t.Fatalf("target %q after deletion: %d rows %v", target, p.Total, actions)
		}
	}
	if p := listAudit(t, admin, url.Values{"target": {"alice"}}); p.Total != 2 {
		t.Fatalf("target alice: %d rows", p.Total)
	}
	// bob's own sign-in is found by his name as actor after the deletion.
	for _, actor := range []string{"bob", bob.PublicID} {
		p := listAudit(t, admin, url.Values{"actor": {actor}})
		if p.Total != 1 || p.Items[0].Action != service.ActionLoginSucceeded || p.Items[0].ActorPublicID != bob.PublicID {
			t.Fatalf("actor %q after deletion: %+v", actor, p)
		}
	}
	if p := listAudit(t, admin, url.Values{"actor": {"root"}, "action": {service.ActionUserDeleted}}); p.Total != 1 {
		t.Fatalf("actor root, deletions: %d", p.Total)
	}
	for _, target := range []string{"mock", "Mock ID"} {
		p := listAudit(t, admin, url.Values{"target": {target}})
		if p.Total < 1 {
			t.Fatalf("target %q: no provider rows", target)
		}
		for _, it := range p.Items {
			if it.TargetPublicID != "mock" {
				t.Fatalf("target %q found %+v", target, it)
			}
		}
	}
	if p := listAudit(t, admin, url.Values{"target": {"nobody"}}); p.Total != 0 {
		t.Fatalf("target nobody: %d rows", p.Total)
	}
}
