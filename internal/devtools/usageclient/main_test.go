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
// openapi.yaml, charges a real server with a bearer token and decodes the
// answer the document describes.
func TestAPIClient_ChargesUsage(t *testing.T) {
	app := testkit.NewApp(t)
	if err := app.Svc.Settings.Store(context.Background(), service.GroupBilling, service.BillingSettings{Mode: "usage", Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	admin := app.SuperAdmin("ops")
	member := app.Member("customer")
	ac := app.LoginAs(admin)
	ac.POST("/api/admin/users/"+member.PublicID+"/balance", map[string]any{"mode": "set", "amount": 100}).Expect(http.StatusOK)
	var tok struct{ Token string }
	ac.POST("/api/auth/tokens", map[string]string{"name": "usageclient"}).Expect(http.StatusCreated).JSON(&tok)

	balance, err := Charge(context.Background(), app.URL, tok.Token, member.PublicID, 30, "3 images")
	if err != nil {
		t.Fatal(err)
	}
	if balance != 70 {
		t.Fatalf("balance after the charge = %d, want 70", balance)
	}
	if _, err := Charge(context.Background(), app.URL, "not-a-token", member.PublicID, 1, "x"); err == nil {
		t.Fatal("a bad token charged")
	}
}
