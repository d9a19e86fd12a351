//go:build apiclient

// Command usageclient charges usage against an account's balance the way
// a platform's metering service does: POST /api/service/usage/charges with
// a service API key (scope billing:charge), through the Go client that
// oapi-codegen generates from server/api/openapi.yaml (internal/apiclient),
// with the document's serviceApiKey security scheme (HTTP bearer). It
// exists to prove that the document works with a real code generator:
// `make check-apiclient` (CI) generates the client, builds this program and
// runs its test against a real server.
//
//	go generate ./internal/apiclient
//	go run -tags apiclient ./internal/devtools/usageclient -url http://127.0.0.1:8080 -key "$GATEHOUSE_API_KEY" -account u_… -amount 25 -idempotency-key job-123 -reason "3 images"
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/securityprovider"

	"gatehouse/internal/apiclient"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "Gatehouse base URL")
	key := flag.String("key", os.Getenv("GATEHOUSE_API_KEY"), "service API key with billing:charge (default $GATEHOUSE_API_KEY)")
	account := flag.String("account", "", "the account's public ID, username or email")
	amount := flag.Int64("amount", 1, "minor units to charge")
	idem := flag.String("idempotency-key", "", "unique per charge; a retry with the same key charges once (default: a new one)")
	reason := flag.String("reason", "usage", "ledger reason")
	flag.Parse()
	if *idem == "" {
		*idem = fmt.Sprintf("usageclient-%d", time.Now().UnixNano())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := Charge(ctx, *url, *key, *account, *amount, *idem, *reason)
	if err != nil {
		fmt.Fprintln(os.Stderr, "usageclient:", err)
		os.Exit(1)
	}
	fmt.Printf("charged %d (charge %d, replayed %v); balance now %d\n", ch.Amount, ch.Id, ch.Replayed, ch.Balance)
}

// Charge takes amount minor units from the account's balance with a
// service API key and answers the charge (a repeat of idem answers the
// first charge again, Replayed set).
func Charge(ctx context.Context, baseURL, key, account string, amount int64, idem, reason string) (*apiclient.UsageCharge, error) {
	auth, err := securityprovider.NewSecurityProviderBearerToken(key)
	if err != nil {
		return nil, err
	}
	client, err := apiclient.NewClientWithResponses(baseURL, apiclient.WithRequestEditorFn(auth.Intercept))
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"client": "usageclient"}
	res, err := client.ChargeUsageWithResponse(ctx, apiclient.ChargeUsageJSONRequestBody{
		Account: account, Amount: amount, IdempotencyKey: idem, Reason: &reason, Metadata: &meta,
	})
	if err != nil {
		return nil, err
	}
	switch {
	case res.JSON201 != nil:
		return res.JSON201, nil
	case res.JSON200 != nil:
		return res.JSON200, nil
	}
	return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode(), res.Body)
}
