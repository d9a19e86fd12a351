package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// receiver is a webhook receiver that checks every request per Standard
// Webhooks with the secrets it knows (independently of the server's code).
type receiver struct {
	t       *testing.T
	mu      sync.Mutex
	secrets []string
	status  int
	delay   time.Duration
	got     []received
	seen    map[string]int
	sigs    []int // signatures per request
	bad     []string
	srv     *httptest.Server
}

type received struct {
	ID, Type, Account string
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{t: t, status: status, seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	r.mu.Lock()
	secrets, status, delay := r.secrets, r.status, r.delay
	r.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	var problem string
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(n, 0)).Abs() > 5*time.Minute {
		problem = "timestamp " + ts
	}
	sigs := strings.Fields(sig)
	valid := 0
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			r.t.Errorf("secret %q is not whsec_ base64", s)
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		for _, g := range sigs {
			if hmac.Equal([]byte(g), []byte(want)) {
				valid++
			}
		}
	}
	if valid == 0 {
		problem += " no valid signature"
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Account struct{ PublicID string } `json:"account"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		problem += " body " + err.Error()
	}
	r.mu.Lock()
	if problem != "" {
		r.bad = append(r.bad, id+":"+problem)
	}
	r.seen[id]++
	r.sigs = append(r.sigs, len(sigs))
	if status < 300 {
		r.got = append(r.got, received{ID: id, Type: p.Type, Account: p.Data.Account.PublicID})
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) set(f func(r *receiver)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

// newReceiverServer is a receiver that answers 204 and calls seen.
func newReceiverServer(t testing.TB, seen func()) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		seen()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// waitWebhooks waits until no delivery of an enabled endpoint is open.
func waitWebhooks(t testing.TB, app *testkit.App) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		open, err := app.Svc.Webhooks.Pending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !open {
			return
		}
		app.Svc.Webhooks.Wake()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("webhook deliveries still open after 30s")
}

func createEndpoint(t *testing.T, c *testkit.Client, url string, events []string, extra map[string]any) (string, string) {
	t.Helper()
	body := map[string]any{"url": url, "events": events}
	for k, v := range extra {
		body[k] = v
	}
	var res struct {
		Endpoint struct{ ID string }
		Secret   string
	}
	c.POST("/api/admin/webhooks", body).Expect(http.StatusCreated).JSON(&res)
	if !strings.HasPrefix(res.Secret, "whsec_") {
		t.Fatalf("secret %q", res.Secret)
	}
	return res.Endpoint.ID, res.Secret
}

// TestWebhooks_SignedOrderedExactlyOnceAcrossRestart: account changes of
// every kind reach a receiver signed, each event exactly once, in order
// per account, though the sending instance stops in the middle of the
// deliveries and another instance on the same database finishes them.
func TestWebhooks_SignedOrderedExactlyOnceAcrossRestart(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	setBilling(t, app, "usage")
	rcv := newReceiver(t, http.StatusNoContent)
	super := app.SuperAdmin("root")
	ac := app.LoginAs(super)
	_, secret := createEndpoint(t, ac, rcv.srv.URL+"/hooks", service.WebhookEventTypes, map[string]any{"balanceThreshold": 100})
	rcv.set(func(r *receiver) { r.secrets = []string{secret}; r.delay = 5 * time.Millisecond })

	var ids []string
	for i := range 6 {
		var u struct{ PublicID string }
		ac.POST("/api/admin/users", map[string]any{"username": fmt.Sprintf("cust%d", i), "email": fmt.Sprintf("cust%d@example.com", i), "password": "Test-Passphrase-91!"}).
			Expect(http.StatusCreated).JSON(&u)
		ids = append(ids, u.PublicID)
	}
	for round := range 3 {
		for _, id := range ids {
			ac.PATCH("/api/admin/users/"+id, map[string]any{"displayName": fmt.Sprintf("Customer %d", round)}).Expect(http.StatusOK)
			ac.POST("/api/admin/users/"+id+"/balance", map[string]any{"mode": "set", "amount": 150}).Expect(http.StatusOK)
			ac.POST("/api/admin/users/"+id+"/balance", map[string]any{"mode": "add", "amount": -100}).Expect(http.StatusOK) // below 100: balance_low
		}
		if round == 1 {
			// Stop this instance's sender in the middle of delivering; a
			// second instance on the same database takes over.
			app.Svc.Webhooks.Close()
		}
	}
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": ids, "params": map[string]any{"status": "suspended"}, "reason": "audit"}).Expect(http.StatusOK)
	ac.POST("/api/admin/users/bulk", map[string]any{"action": "set_status", "publicIds": ids, "params": map[string]any{"status": "active"}}).Expect(http.StatusOK)
	member := app.CreateUser(testkit.UserSpec{Username: "signer", Email: "signer@example.com"})
	app.LoginAs(member)
	ac.POST("/api/admin/users/"+member.PublicID+"/revoke-sessions", map[string]any{}).Expect(http.StatusOK)
	ac.PATCH("/api/admin/users/"+member.PublicID, map[string]any{"role": "admin"}).Expect(http.StatusOK)
	ac.DELETE("/api/admin/users/" + ids[0] + "?confirm=cust0").Expect(http.StatusNoContent)

	second := app.Instance()
	waitWebhooks(t, second)

	// What the database says happened, in order, per account.
	type ev struct {
		ID        int64
		Type      string
		AccountID int64
	}
	var events []ev
	if err := app.Svc.DB.NewSelect().Table("webhook_events").Column("id", "type", "account_id").Order("id").Scan(context.Background(), &events); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("bad requests: %v", rcv.bad)
	}
	for id, n := range rcv.seen {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
	if len(rcv.got) != len(events) {
		t.Fatalf("received %d events, recorded %d", len(rcv.got), len(events))
	}
	want := map[int64][]string{}
	for _, e := range events {
		want[e.AccountID] = append(want[e.AccountID], service.WebhookMessageID(e.ID))
	}
	gotBy := map[string][]string{}
	types := map[string]int{}
	for _, g := range rcv.got {
		gotBy[g.Account] = append(gotBy[g.Account], g.ID)
		types[g.Type]++
	}
	for acct, seq := range want {
		var pub string
		_ = app.Svc.DB.NewSelect().Table("users").Column("public_id").Where("id = ?", acct).Scan(context.Background(), &pub)
		if pub == "" {
			continue // deleted: checked by count and exactly-once
		}
		if strings.Join(gotBy[pub], " ") != strings.Join(seq, " ") {
			t.Errorf("account %s: received %v, want %v (the order of the changes)", pub, gotBy[pub], seq)
		}
	}
	for _, typ := range []string{service.EventAccountCreated, service.EventAccountUpdated, service.EventAccountStatusChanged, service.EventAccountBalanceLow,
		service.EventAccountSignedIn, service.EventAccountSessionsRevoked, service.EventAccountRoleChanged} {
		if types[typ] == 0 {
			t.Errorf("no %s event received (got %v)", typ, types)
		}
	}
	if types[service.EventAccountBalanceLow] != 18 {
		t.Errorf("balance_low events = %d, want 18 (6 accounts × 3 crossings of the threshold)", types[service.EventAccountBalanceLow])
	}
}

// TestWebhooks_FailingReceiverRetriedThenDisabled: a receiver that keeps
// answering 500 is retried with growing waits, the endpoint is disabled
// after a day of failures (audited, shown to administrators), and a
// delivery still refused after three days has failed.
func TestWebhooks_FailingReceiverRetriedThenDisabled(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	// This test drives the sender by hand with the fake clock. The
	// background sender raced it: it read the clock, the test advanced it
	// an hour, and both attempted in the same millisecond, so the test
	// never saw the 10 s wait (seen at load 40: waits [20s 40s 1m20s]).
	app.Svc.Webhooks.Close()
	rcv := newReceiver(t, http.StatusInternalServerError)
	super := app.SuperAdmin("root")
	ac := app.LoginAs(super)
	id, secret := createEndpoint(t, ac, rcv.srv.URL, []string{service.EventAccountCreated}, nil)
	rcv.set(func(r *receiver) { r.secrets = []string{secret} })
	app.Member("victim")
	ctx := context.Background()
	var waits []time.Duration
	disabled := false
	for i := 0; i < 80 && !disabled; i++ {
		if _, err := app.Svc.Webhooks.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		var d models.WebhookDelivery
		if err := app.Svc.DB.NewSelect().Model(&d).Limit(1).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if d.LastAttemptAt != nil && len(waits) < 3 && d.Status == models.WebhookPending {
			w := d.NextAttemptAt.Sub(*d.LastAttemptAt)
			if len(waits) == 0 || waits[len(waits)-1] != w {
				waits = append(waits, w)
			}
		}
		var ep models.WebhookEndpoint
		if err := app.Svc.DB.NewSelect().Model(&ep).Where("public_id = ?", id).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		disabled = !ep.Enabled
		app.Clock.Advance(time.Hour)
	}
	if !disabled {
		t.Fatal("the failing endpoint was never disabled")
	}
	if len(waits) < 3 || waits[0] != 10*time.Second || waits[1] != 20*time.Second || waits[2] != 40*time.Second {
		t.Errorf("waits between attempts %v, want 10s, 20s, 40s, …", waits)
	}
	rcv.mu.Lock()
	attempts := len(rcv.sigs)
	rcv.mu.Unlock()
	if attempts < 10 {
		t.Errorf("only %d attempts before disabling", attempts)
	}
	var list struct {
		Items []struct {
			ID             string
			Enabled        bool
			DisabledReason string
		}
	}
	app.LoginAs(app.Admin("reader")).GET("/api/admin/webhooks").Expect(http.StatusOK).JSON(&list)
	if len(list.Items) != 1 || list.Items[0].Enabled || list.Items[0].DisabledReason != "failing" {
		t.Fatalf("administrators see %+v", list.Items)
	}
	if acts := app.AuditActionsAll(); !strings.Contains(strings.Join(acts, " "), service.ActionWebhookDisabled) {
		t.Errorf("no %s audit row: %v", service.ActionWebhookDisabled, acts)
	}
	// A disabled endpoint gets nothing; after three days the delivery fails.
	before := attempts
	app.Clock.Advance(72 * time.Hour)
	if _, err := app.Svc.Webhooks.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Svc.Webhooks.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	after := len(rcv.sigs)
	rcv.mu.Unlock()
	if after != before {
		t.Errorf("a disabled endpoint was called (%d → %d)", before, after)
	}
	var log struct {
		Items []struct {
			ID           int64
			Status       string
			ResponseCode int
			Attempts     int
		}
	}
	ac.GET("/api/admin/webhooks/" + id + "/deliveries").Expect(http.StatusOK).JSON(&log)
	if len(log.Items) != 1 || log.Items[0].Status != "failed" || log.Items[0].ResponseCode != 500 {
		t.Fatalf("delivery log %+v", log.Items)
	}
	// Re-enabled and fixed: a resend gets through.
	rcv.set(func(r *receiver) { r.status = http.StatusOK })
	ac.PATCH("/api/admin/webhooks/"+id, map[string]any{"enabled": true}).Expect(http.StatusOK)
	ac.POST(fmt.Sprintf("/api/admin/webhooks/%s/deliveries/%d/resend", id, log.Items[0].ID), nil).Expect(http.StatusAccepted)
	if n, err := app.Svc.Webhooks.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivering the resend: %d tried, %v", n, err)
	}
	if open, err := app.Svc.Webhooks.Pending(ctx); err != nil || open {
		t.Fatalf("deliveries still open after the resend was delivered (%v)", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != 1 || rcv.got[0].Type != service.EventAccountCreated {
		t.Fatalf("after resend received %+v", rcv.got)
	}
}

// TestWebhooks_RotationSignsWithBoth: after a rotation every request
// carries two signatures, one per secret, until the old one expires.
func TestWebhooks_RotationSignsWithBoth(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	rcv := newReceiver(t, http.StatusOK)
	ac := app.LoginAs(app.SuperAdmin("root"))
	id, oldSecret := createEndpoint(t, ac, rcv.srv.URL, []string{service.EventAccountCreated}, nil)
	var rot struct {
		Endpoint struct{ Rotating bool }
		Secret   string
	}
	ac.POST("/api/admin/webhooks/"+id+"/rotate-secret", nil).Expect(http.StatusOK).JSON(&rot)
	if !rot.Endpoint.Rotating || rot.Secret == oldSecret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Fatalf("rotation answer %+v", rot)
	}
	for i, only := range []string{oldSecret, rot.Secret} {
		rcv.set(func(r *receiver) { r.secrets = []string{only}; r.got = nil; r.sigs = nil })
		app.Member(fmt.Sprintf("member%d", i))
		waitWebhooks(t, app)
		rcv.mu.Lock()
		if len(rcv.bad) > 0 || len(rcv.got) != 1 || rcv.sigs[0] != 2 {
			t.Errorf("with one of the two secrets: bad %v, got %d, signatures %v", rcv.bad, len(rcv.got), rcv.sigs)
		}
		rcv.mu.Unlock()
	}
	// A day later only the new secret signs.
	app.Clock.Advance(25 * time.Hour)
	rcv.set(func(r *receiver) { r.secrets = []string{rot.Secret}; r.got = nil; r.sigs = nil })
	app.Member("late")
	waitWebhooks(t, app)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != 1 || rcv.sigs[0] != 1 || len(rcv.bad) > 0 {
		t.Errorf("after the old secret expired: got %d, signatures %v, bad %v", len(rcv.got), rcv.sigs, rcv.bad)
	}
}

// TestWebhooks_EndpointRules: https only (http to loopback only when the
// server allows it), no credentials in the URL, known events; the secret
// is never read back; administrators read, super administrators change.
func TestWebhooks_EndpointRules(t *testing.T) {
	app := testkit.NewApp(t)
	ac := app.LoginAs(app.SuperAdmin("root"))
	for _, bad := range []map[string]any{
		{"url": "http://127.0.0.1:9/x", "events": []string{"account.created"}},
		{"url": "http://hooks.example.com/x", "events": []string{"account.created"}},
		{"url": "https://user:pw@hooks.example.com/x", "events": []string{"account.created"}},
		{"url": "ftp://hooks.example.com/x", "events": []string{"account.created"}},
		{"url": "https://hooks.example.com/x#frag", "events": []string{"account.created"}},
		{"url": "hooks.example.com/x", "events": []string{"account.created"}},
		{"url": "https://hooks.example.com/x", "events": []string{"account.exploded"}},
		{"url": "https://hooks.example.com/x", "events": []string{}},
	} {
		r := ac.POST("/api/admin/webhooks", bad)
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
	id, secret := createEndpoint(t, ac, "https://hooks.example.com/gatehouse", []string{"account.created", "account.locked"}, map[string]any{"description": "billing"})
	for _, r := range []*testkit.Response{ac.GET("/api/admin/webhooks"), ac.GET("/api/admin/webhooks/" + id)} {
		if strings.Contains(string(r.Body), secret[6:]) {
			t.Fatal("the secret is readable after creation")
		}
	}
	admin := app.LoginAs(app.Admin("reader"))
	admin.GET("/api/admin/webhooks").Expect(http.StatusOK)
	admin.GET("/api/admin/webhooks/" + id + "/deliveries").Expect(http.StatusOK)
	admin.POST("/api/admin/webhooks", map[string]any{"url": "https://x.example.com", "events": []string{"account.created"}}).Expect(http.StatusForbidden)
	admin.PATCH("/api/admin/webhooks/"+id, map[string]any{"enabled": false}).Expect(http.StatusForbidden)
	admin.POST("/api/admin/webhooks/"+id+"/rotate-secret", nil).Expect(http.StatusForbidden)
	admin.DELETE("/api/admin/webhooks/" + id).Expect(http.StatusForbidden)
	ac.GET("/api/admin/webhooks/nope").Expect(http.StatusNotFound)
	ac.DELETE("/api/admin/webhooks/" + id).Expect(http.StatusNoContent)
	// No endpoint: account changes write no webhook rows at all.
	before, err := app.Svc.DB.NewSelect().Table("webhook_events").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	app.Member("quiet")
	n, err := app.Svc.DB.NewSelect().Table("webhook_events").Count(context.Background())
	if err != nil || n != before {
		t.Fatalf("webhook_events rows without an endpoint: %d → %d %v", before, n, err)
	}
}
