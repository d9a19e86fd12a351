package api_test

import (
	"context"
	"net/http"
	"testing"

	"gatehouse/models"
)

// TestUsage_LedgerShowsServiceEvents: the admin's ledger view shows a
// service's charges, credits and refunds (single and batched) with the
// key as actor (name and visible prefix), their type, metadata and
// idempotency key; an administrator's change sits in the same ledger
// without them, and the ledger sums to the balance.
func TestUsage_LedgerShowsServiceEvents(t *testing.T) {
	app, member, kc, key := usageApp(t, 100)
	kc.POST("/api/service/usage/charges", map[string]any{"account": member.PublicID, "amount": 30, "idempotencyKey": "ch-1", "reason": "tokens", "metadata": map[string]any{"model": "m1", "tokens": 1200}}).Expect(http.StatusCreated)
	kc.POST("/api/service/usage/charges", map[string]any{"account": member.PublicID, "amount": 10, "idempotencyKey": "rf-1", "type": "refund", "reason": "failed job"}).Expect(http.StatusCreated)
	kc.POST("/api/service/usage/batch", map[string]any{"events": []map[string]any{
		{"account": member.PublicID, "amount": 5, "idempotencyKey": "cr-1", "type": "credit", "metadata": map[string]any{"promo": "x"}},
	}}).Expect(http.StatusOK)
	ac := app.LoginAs(app.SuperAdmin("boss"))
	ac.POST("/api/admin/users/"+member.PublicID+"/balance", map[string]any{"mode": "add", "amount": 7, "reason": "goodwill"}).Expect(http.StatusOK)

	var ledger struct {
		Items []struct {
			Amount         int64          `json:"amount"`
			ActorUsername  string         `json:"actorUsername"`
			ViaAPIKey      bool           `json:"viaApiKey"`
			APIKeyPrefix   string         `json:"apiKeyPrefix"`
			IdempotencyKey string         `json:"idempotencyKey"`
			UsageType      string         `json:"usageType"`
			Metadata       map[string]any `json:"metadata"`
			Reason         string         `json:"reason"`
		} `json:"items"`
	}
	app.LoginAs(app.Admin("reader")).GET("/api/admin/users/" + member.PublicID + "/ledger").Expect(http.StatusOK).JSON(&ledger)
	if len(ledger.Items) != 5 {
		t.Fatalf("%d ledger rows, want 5 (top-up, charge, refund, credit, admin change)", len(ledger.Items))
	}
	admin, credit, refund, charge := ledger.Items[0], ledger.Items[1], ledger.Items[2], ledger.Items[3]
	if admin.ViaAPIKey || admin.APIKeyPrefix != "" || admin.IdempotencyKey != "" || admin.UsageType != "" || admin.ActorUsername != "boss" || admin.Amount != 7 {
		t.Errorf("administrator's change %+v", admin)
	}
	for _, c := range []struct {
		typ, idem  string
		amount     int64
		metaKey    string
		gotType    string
		gotIdem    string
		gotAmount  int64
		gotPrefix  string
		gotMeta    map[string]any
		gotActor   string
		wantReason string
		gotReason  string
	}{
		{typ: "charge", idem: "ch-1", amount: -30, metaKey: "model", gotType: charge.UsageType, gotIdem: charge.IdempotencyKey, gotAmount: charge.Amount, gotPrefix: charge.APIKeyPrefix, gotMeta: charge.Metadata, gotActor: charge.ActorUsername, wantReason: "tokens", gotReason: charge.Reason},
		{typ: "refund", idem: "rf-1", amount: 10, gotType: refund.UsageType, gotIdem: refund.IdempotencyKey, gotAmount: refund.Amount, gotPrefix: refund.APIKeyPrefix, gotMeta: refund.Metadata, gotActor: refund.ActorUsername, wantReason: "failed job", gotReason: refund.Reason},
		{typ: "credit", idem: "cr-1", amount: 5, metaKey: "promo", gotType: credit.UsageType, gotIdem: credit.IdempotencyKey, gotAmount: credit.Amount, gotPrefix: credit.APIKeyPrefix, gotMeta: credit.Metadata, gotActor: credit.ActorUsername, gotReason: credit.Reason},
	} {
		if c.gotType != c.typ || c.gotIdem != c.idem || c.gotAmount != c.amount || c.gotPrefix != key.Prefix || c.gotActor != "key:meter" || c.gotReason != c.wantReason {
			t.Errorf("%s row: type %q idempotency %q amount %d prefix %q (want %q) actor %q reason %q", c.typ, c.gotType, c.gotIdem, c.gotAmount, c.gotPrefix, key.Prefix, c.gotActor, c.gotReason)
		}
		if c.metaKey != "" && c.gotMeta[c.metaKey] == nil {
			t.Errorf("%s row: metadata %v", c.typ, c.gotMeta)
		}
	}
	var sum int64
	if err := app.Svc.DB.NewSelect().Model((*models.LedgerEntry)(nil)).ColumnExpr("COALESCE(SUM(amount), 0)").Where("user_id = ?", member.ID).Scan(context.Background(), &sum); err != nil {
		t.Fatal(err)
	}
	if bal := app.Reload(member).Balance; sum != bal || bal != 100-30+10+5+7 {
		t.Fatalf("ledger sum %d, balance %d", sum, bal)
	}
}
