package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

type usageCharge struct {
	ID             int64  `json:"id"`
	IdempotencyKey string `json:"idempotencyKey"`
	Account        string `json:"account"`
	Type           string `json:"type"`
	Amount         int64  `json:"amount"`
	Balance        int64  `json:"balance"`
	Replayed       bool   `json:"replayed"`
}

// usageApp is an app in the usage billing mode with a member holding
// balance and a billing:charge key.
func usageApp(t *testing.T, balance int64) (*testkit.App, *testkit.User, *testkit.Client, *models.APIKey) {
	t.Helper()
	app := testkit.NewApp(t)
	super := app.SuperAdmin("root")
	member := app.Member("mia")
	setBilling(t, app, "usage")
	if balance != 0 {
		if _, err := app.Svc.Users.ChangeBalance(context.Background(), service.Actor{User: super.User}, member.PublicID, service.BalanceChange{Mode: "add", Amount: balance, Reason: "top up"}); err != nil {
			t.Fatal(err)
		}
	}
	secret, key := newKey(t, app, super, service.NewAPIKey{Name: "meter", Scopes: []string{service.ScopeBillingCharge, service.ScopeBillingRead}})
	return app, member, keyClient(app, secret), key
}

func balanceOf(t *testing.T, app *testkit.App, u *testkit.User) int64 {
	t.Helper()
	return app.Reload(u).Balance
}

// TestUsage_ParallelCharges: 200 concurrent charges of 1 end exactly 200
// lower, and the ledger sums to the balance.
func TestUsage_ParallelCharges(t *testing.T) {
	t.Parallel()
	app, member, kc, _ := usageApp(t, 1000)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kc.POST("/api/service/usage/charges", map[string]any{"account": member.PublicID, "amount": 1, "idempotencyKey": fmt.Sprintf("p-%d", i), "metadata": map[string]any{"tokens": i}})
			if r.Status != 201 {
				t.Errorf("charge %d: %d %s", i, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if got := balanceOf(t, app, member); got != 800 {
		t.Fatalf("balance %d, want 800", got)
	}
	accountInvariants(t, app, "after 200 parallel charges")
	var n int64
	n, err := app.Svc.DB.NewSelect().Model((*models.LedgerEntry)(nil)).Where("user_id = ?", member.ID).Where("actor_key_id IS NOT NULL").Count(context.Background())
	if err != nil || n != 200 {
		t.Fatalf("%d key ledger rows, %v", n, err)
	}
}

// TestUsage_IdempotentParallel: 50 concurrent copies of one idempotency key
// charge once and all get the same answer.
func TestUsage_IdempotentParallel(t *testing.T) {
	t.Parallel()
	app, member, kc, _ := usageApp(t, 1000)
	var wg sync.WaitGroup
	answers := make([]usageCharge, 50)
	statuses := make([]int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kc.POST("/api/service/usage/charges", map[string]any{"account": member.Username, "amount": 7, "idempotencyKey": "once", "reason": "job 42"})
			statuses[i] = r.Status
			_ = json.Unmarshal(r.Body, &answers[i])
		}()
	}
	wg.Wait()
	created := 0
	for i := range 50 {
		if statuses[i] == 201 {
			created++
		} else if statuses[i] != 200 || !answers[i].Replayed {
			t.Errorf("copy %d: %d %+v", i, statuses[i], answers[i])
		}
		a := answers[i]
		a.Replayed = false
		b := answers[0]
		b.Replayed = false
		if a != b {
			t.Errorf("copy %d answered %+v, copy 0 %+v", i, a, b)
		}
	}
	if created != 1 {
		t.Fatalf("%d copies answered 201", created)
	}
	if got := balanceOf(t, app, member); got != 993 || answers[0].Balance != 993 || answers[0].Account != member.PublicID {
		t.Fatalf("balance %d, answer %+v", got, answers[0])
	}
	accountInvariants(t, app, "after 50 copies")
}

// TestUsage_BelowZeroRule: a charge past zero is refused and remembered;
// allowNegative lets it through; credits and refunds add; the same key
// with another amount is refused.
func TestUsage_BelowZeroRule(t *testing.T) {
	t.Parallel()
	app, member, kc, _ := usageApp(t, 10)
	charge := func(key string, amount int64, extra map[string]any) *testkit.Response {
		body := map[string]any{"account": member.Email, "amount": amount, "idempotencyKey": key}
		for k, v := range extra {
			body[k] = v
		}
		return kc.POST("/api/service/usage/charges", body)
	}
	if code := charge("big", 11, nil).Expect(409).ErrorCode(); code != "insufficient_balance" {
		t.Fatal(code)
	}
	// The refusal is the key's answer, even after a top-up.
	charge("top", 5, map[string]any{"type": "credit"}).Expect(201)
	if code := charge("big", 11, nil).Expect(409).ErrorCode(); code != "insufficient_balance" {
		t.Fatal(code)
	}
	charge("neg", 20, map[string]any{"allowNegative": true}).Expect(201)
	if got := balanceOf(t, app, member); got != -5 {
		t.Fatalf("balance %d", got)
	}
	charge("ref", 20, map[string]any{"type": "refund", "reason": "refund of neg"}).Expect(201)
	if code := charge("ref", 21, map[string]any{"type": "refund"}).Expect(409).ErrorCode(); code != "idempotency_key_reused" {
		t.Fatal(code)
	}
	if got := balanceOf(t, app, member); got != 15 {
		t.Fatalf("balance %d", got)
	}
	// Bad input: field errors, never stored.
	f := charge("", 0, map[string]any{"type": "gift", "metadata": strings.Repeat("x", 3)}).Expect(422).Fields()
	for _, k := range []string{"amount", "idempotencyKey", "type", "metadata"} {
		if f[k] == "" {
			t.Errorf("no field error for %s: %v", k, f)
		}
	}
	big := map[string]any{"blob": strings.Repeat("x", 5000)}
	charge("m", 1, map[string]any{"metadata": big}).Expect(422)
	kc.POST("/api/service/usage/charges", map[string]any{"account": "nobody", "amount": 1, "idempotencyKey": "nf"}).Expect(404)
	accountInvariants(t, app, "after the rule checks")
	// Usage billing off: refused.
	setBilling(t, app, "period")
	if code := charge("off", 1, nil).Expect(409).ErrorCode(); code != "usage_billing_off" {
		t.Fatal(code)
	}
}

// TestUsage_Batch: one transaction, one answer per event.
func TestUsage_Batch(t *testing.T) {
	t.Parallel()
	app, member, kc, key := usageApp(t, 100)
	other := app.Member("otto")
	setup := kc.POST("/api/service/usage/charges", map[string]any{"account": member.PublicID, "amount": 1, "idempotencyKey": "seen"}).Expect(201)
	var first usageCharge
	setup.JSON(&first)
	events := []map[string]any{
		{"account": member.PublicID, "amount": 10, "idempotencyKey": "a", "metadata": map[string]any{"model": "x"}},
		{"account": other.Username, "amount": 5, "idempotencyKey": "b", "type": "credit"},
		{"account": member.PublicID, "amount": 1000, "idempotencyKey": "c"},
		{"account": member.PublicID, "amount": 1, "idempotencyKey": "seen"},
		{"account": "ghost", "amount": 1, "idempotencyKey": "d"},
		{"account": member.PublicID, "amount": 0, "idempotencyKey": "e"},
		{"account": member.PublicID, "amount": 10, "idempotencyKey": "a"},
	}
	var out struct {
		Results []struct {
			IdempotencyKey string       `json:"idempotencyKey"`
			Status         string       `json:"status"`
			Charge         *usageCharge `json:"charge"`
			Error          *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
		Applied, Refused int
	}
	kc.POST("/api/service/usage/batch", map[string]any{"events": events}).Expect(200).JSON(&out)
	want := []string{"applied", "applied", "refused:insufficient_balance", "replayed", "refused:not_found", "refused:validation_failed", "replayed"}
	for i, r := range out.Results {
		got := r.Status
		if r.Error != nil {
			got += ":" + r.Error.Code
		}
		if got != want[i] {
			t.Errorf("event %d: %s, want %s", i, got, want[i])
		}
	}
	if out.Results[3].Charge == nil || out.Results[3].Charge.ID != first.ID {
		t.Errorf("replay %+v, first %+v", out.Results[3].Charge, first)
	}
	if out.Applied != 2 || balanceOf(t, app, member) != 89 || balanceOf(t, app, other) != 5 {
		t.Fatalf("applied %d, balances %d %d", out.Applied, balanceOf(t, app, member), balanceOf(t, app, other))
	}
	accountInvariants(t, app, "after the batch")
	// Too many events, none.
	many := make([]map[string]any, 1001)
	for i := range many {
		many[i] = map[string]any{"account": member.PublicID, "amount": 1, "idempotencyKey": fmt.Sprint("m", i)}
	}
	kc.POST("/api/service/usage/batch", map[string]any{"events": many}).Expect(422)
	kc.POST("/api/service/usage/batch", map[string]any{"events": []any{}}).Expect(422)

	// The admin's ledger view shows the key and the metadata.
	var ledger struct {
		Items []struct {
			ActorUsername string         `json:"actorUsername"`
			ViaAPIKey     bool           `json:"viaApiKey"`
			Metadata      map[string]any `json:"metadata"`
			Amount        int64          `json:"amount"`
		} `json:"items"`
	}
	app.LoginAs(app.Admin("ada")).GET("/api/admin/users/" + member.PublicID + "/ledger").Expect(200).JSON(&ledger)
	top := ledger.Items[0]
	if top.ActorUsername != "key:meter" || !top.ViaAPIKey || top.Metadata["model"] != "x" || top.Amount != -10 {
		t.Fatalf("ledger %+v", top)
	}
	// The batch is audited once, with the key as actor.
	var ev models.AuditEvent
	if err := app.Svc.DB.NewSelect().Model(&ev).Where("action = ?", service.ActionUsageBatch).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev.ActorPublicID != key.Prefix {
		t.Fatalf("batch audit actor %q", ev.ActorPublicID)
	}
}

// TestUsage_Entitlement reads by public ID, username and email.
func TestUsage_Entitlement(t *testing.T) {
	t.Parallel()
	app, member, kc, _ := usageApp(t, 42)
	for _, name := range []string{member.PublicID, "MIA", member.Username, strings.ToUpper(*member.Email)} {
		var e struct {
			Account, Status, Role, BillingMode, Currency string
			Balance                                      int64
			Plan                                         any
		}
		kc.GET("/api/service/entitlements/" + name).Expect(200).JSON(&e)
		if e.Account != member.PublicID || e.Balance != 42 || e.BillingMode != "usage" || e.Status != "active" || e.Role != "user" || e.Currency != "USD" || e.Plan != nil {
			t.Errorf("%s: %+v", name, e)
		}
	}
	kc.GET("/api/service/entitlements/nobody").Expect(404)
	_ = app
}

// TestUsage_KeysForgottenAfterSevenDays: the sweep forgets idempotency keys
// older than seven days, and no sooner.
func TestUsage_KeysForgottenAfterSevenDays(t *testing.T) {
	t.Parallel()
	app, member, kc, _ := usageApp(t, 100)
	body := map[string]any{"account": member.PublicID, "amount": 1, "idempotencyKey": "old"}
	kc.POST("/api/service/usage/charges", body).Expect(201)
	app.Clock.Advance(7*24*time.Hour - time.Minute)
	if n, err := app.Svc.Usage.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("swept %d, %v", n, err)
	}
	kc.POST("/api/service/usage/charges", body).Expect(200)
	app.Clock.Advance(2 * time.Minute)
	if n, err := app.Svc.Usage.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
}
