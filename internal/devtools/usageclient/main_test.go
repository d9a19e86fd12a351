//go:build apiclient

package main

import (
	"context"
	"net/http"
	"testing"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestAPIClient_ChargesUsage: the oapi-codegen client, generated from
// openapi.yaml, charges a real server through the service API
// (POST /api/service/usage/charges) with a service API key, decodes the
// answer the document describes, charges once for a repeated idempotency
// key, and is refused with a bad key or one without billing:charge.
func TestAPIClient_ChargesUsage(t *testing.T) {
	ctx := context.Background()
	app := testkit.NewApp(t)
	if err := app.Svc.Settings.Store(ctx, service.GroupBilling, service.BillingSettings{Mode: "usage", Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	admin := app.SuperAdmin("ops")
	member := app.Member("customer")
	app.LoginAs(admin).POST("/api/admin/users/"+member.PublicID+"/balance", map[string]any{"mode": "set", "amount": 100}).Expect(http.StatusOK)
	newKey := func(scopes ...string) string {
		k, err := app.Svc.APIKeys.Create(ctx, service.Actor{User: admin.User}, service.NewAPIKey{Name: "metering", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	key := newKey(service.ScopeBillingCharge)

	ch, err := Charge(ctx, app.URL, key, member.PublicID, 30, "job-1", "3 images")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Balance != 70 || ch.Replayed || ch.Account != member.PublicID {
		t.Fatalf("charge %+v, want balance 70, not replayed", ch)
	}
	again, err := Charge(ctx, app.URL, key, member.PublicID, 30, "job-1", "3 images")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Id != ch.Id || again.Balance != 70 {
		t.Fatalf("repeat %+v, want the first charge replayed", again)
	}
	if _, err := Charge(ctx, app.URL, "ghk_not-a-key", member.PublicID, 1, "job-2", "x"); err == nil {
		t.Fatal("a bad key charged")
	}
	if _, err := Charge(ctx, app.URL, newKey(service.ScopeBillingRead), member.PublicID, 1, "job-3", "x"); err == nil {
		t.Fatal("a key without billing:charge charged")
	}
}
