//go:build apiclient

// Command usageclient charges usage against an account's balance through
// the Go client that oapi-codegen generates from server/api/openapi.yaml
// (internal/apiclient). It exists to prove that the document works with a
// real code generator: `make check-apiclient` (CI) generates the client,
// builds this program and runs its test against a real server.
//
//	go generate ./internal/apiclient
//	go run -tags apiclient ./internal/devtools/usageclient -url http://127.0.0.1:8080 -token "$TOKEN" -account u_… -amount 25 -reason "3 images"
//
// The token is a bearer token the server accepts for the charge.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"gatehouse/internal/apiclient"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "Gatehouse base URL")
	token := flag.String("token", os.Getenv("GATEHOUSE_TOKEN"), "bearer token (default $GATEHOUSE_TOKEN)")
	account := flag.String("account", "", "the account's public ID")
	amount := flag.Int64("amount", 1, "minor units to charge")
	reason := flag.String("reason", "usage", "ledger reason")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	balance, err := Charge(ctx, *url, *token, *account, *amount, *reason)
	if err != nil {
		fmt.Fprintln(os.Stderr, "usageclient:", err)
		os.Exit(1)
	}
	fmt.Printf("charged %d; balance now %d\n", *amount, balance)
}

// Charge takes amount minor units from the account's balance and answers
// the balance afterwards.
func Charge(ctx context.Context, baseURL, token, account string, amount int64, reason string) (int64, error) {
	client, err := apiclient.NewClientWithResponses(baseURL, apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		return 0, err
	}
	res, err := client.ChangeUserBalanceWithResponse(ctx, account, apiclient.ChangeUserBalanceJSONRequestBody{
		Mode: apiclient.ChangeUserBalanceJSONBodyMode("add"), Amount: -amount, Reason: &reason,
	})
	if err != nil {
		return 0, err
	}
	if res.JSON200 == nil {
		return 0, fmt.Errorf("HTTP %d: %s", res.StatusCode(), res.Body)
	}
	return res.JSON200.User.Balance, nil
}
