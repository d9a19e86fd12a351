package service_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestWebhookPlans_DueDeliveriesCheckOnlyOpenEarlierOnes: the sender's
// "nothing earlier of this account and endpoint is still open" check
// (dueWhere's NOT EXISTS) reads the partial index of open deliveries
// (webhook_deliveries_open) instead of walking every earlier delivery of
// the account in (endpoint_id, account_id, id) and reading each row's
// status: the more an account had been changed, the dearer every poll
// (7% of the process CPU in the fan-out benchmark).
func TestWebhookPlans_DueDeliveriesCheckOnlyOpenEarlierOnes(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	if !models.IsSQLite(db) {
		t.Skip("EXPLAIN QUERY PLAN checks are SQLite's")
	}
	lines := testkit.SQLitePlan(t, db, service.DueQueryForTest(app.Svc, time.Now()))
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, "webhook_deliveries_open") {
		t.Fatalf("the open-earlier check does not read webhook_deliveries_open:\n%s", plan)
	}
}
