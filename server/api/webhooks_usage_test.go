package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestWebhooks_BalanceLowOnServiceCharge: service usage events (single
// and batched) that take a balance from at or above an endpoint's
// threshold to below it raise account.balance_low once per crossing, in
// the charge's transaction; replays, refusals, moves that stay on one side
// and endpoints with other thresholds raise nothing.
func TestWebhooks_BalanceLowOnServiceCharge(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	super := app.SuperAdmin("root")
	member, other := app.Member("mia"), app.Member("otto")
	setBilling(t, app, "usage")
	for _, u := range []*testkit.User{member, other} {
		if _, err := app.Svc.Users.ChangeBalance(context.Background(), service.Actor{User: super.User}, u.PublicID, service.BalanceChange{Mode: "add", Amount: 150, Reason: "top up"}); err != nil {
			t.Fatal(err)
		}
	}
	rcv := newReceiver(t, http.StatusNoContent)
	ac := app.LoginAs(super)
	_, secret := createEndpoint(t, ac, rcv.srv.URL+"/low", []string{service.EventAccountBalanceLow}, map[string]any{"balanceThreshold": 100})
	_, secret2 := createEndpoint(t, ac, rcv.srv.URL+"/deep", []string{service.EventAccountBalanceLow}, map[string]any{"balanceThreshold": -1000})
	rcv.set(func(r *receiver) { r.secrets = []string{secret, secret2} })
	keySecret, _ := newKey(t, app, super, service.NewAPIKey{Name: "meter", Scopes: []string{service.ScopeBillingCharge}})
	kc := keyClient(app, keySecret)

	charge := func(key string, amount int64, typ string, status int) {
		t.Helper()
		kc.POST("/api/service/usage/charges", map[string]any{"account": member.PublicID, "amount": amount, "idempotencyKey": key, "type": typ, "reason": "tokens"}).Expect(status)
	}
	charge("c1", 30, "charge", 201)   // 150 → 120
	charge("c2", 30, "charge", 201)   // 120 → 90: crossing 1
	charge("c2", 30, "charge", 200)   // replay: nothing
	charge("c3", 10, "charge", 201)   // 90 → 80: stays below
	charge("big", 500, "charge", 409) // refused: nothing
	charge("r1", 50, "refund", 201)   // 80 → 130
	var out struct{ Applied int }
	kc.POST("/api/service/usage/batch", map[string]any{"events": []map[string]any{
		{"account": member.PublicID, "amount": 40, "idempotencyKey": "b1"},                    // 130 → 90: crossing 2
		{"account": member.PublicID, "amount": 5, "idempotencyKey": "b2"},                     // 90 → 85
		{"account": member.PublicID, "amount": 100, "idempotencyKey": "b3", "type": "credit"}, // 85 → 185
		{"account": member.PublicID, "amount": 90, "idempotencyKey": "b4"},                    // 185 → 95: crossing 3
		{"account": other.PublicID, "amount": 40, "idempotencyKey": "b5"},                     // 150 → 110
		{"account": member.PublicID, "amount": 40, "idempotencyKey": "b1"},                    // repeat inside the batch
	}}).Expect(http.StatusOK).JSON(&out)
	if out.Applied != 5 {
		t.Fatalf("batch applied %d events", out.Applied)
	}
	if got := app.Reload(member).Balance; got != 95 {
		t.Fatalf("balance %d, want 95", got)
	}

	ctx := context.Background()
	var events []models.WebhookEvent
	if err := app.Svc.DB.NewSelect().Model(&events).Where("type = ?", service.EventAccountBalanceLow).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	type low struct {
		Data struct {
			Account                             struct{ PublicID string }
			Balance, PreviousBalance, Threshold int64
			Reason                              string
		}
	}
	var got [][3]int64
	for _, ev := range events {
		var p low
		if err := json.Unmarshal([]byte(ev.Payload), &p); err != nil {
			t.Fatal(err)
		}
		if ev.AccountID != member.ID || p.Data.Account.PublicID != member.PublicID {
			t.Errorf("balance_low for account %d (%s)", ev.AccountID, p.Data.Account.PublicID)
		}
		got = append(got, [3]int64{p.Data.PreviousBalance, p.Data.Balance, p.Data.Threshold})
	}
	want := [][3]int64{{120, 90, 100}, {130, 90, 100}, {185, 95, 100}}
	if len(got) != len(want) {
		t.Fatalf("balance_low events %v, want %v (one per crossing of 100)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %v, want %v", i, got[i], want[i])
		}
	}
	waitWebhooks(t, app)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 || len(rcv.got) != 3 {
		t.Fatalf("received %+v (bad %v), want the three events once each", rcv.got, rcv.bad)
	}
	for id, n := range rcv.seen {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}
