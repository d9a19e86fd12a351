package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestWebhooks_RedeliveryAfterLeaseExpirySameID: an instance that dies in
// the middle of a request leaves its delivery leased; when the lease runs
// out another instance sends the message again with the same webhook-id
// (the documented repeat that receivers drop by id), and the late answer
// of the first attempt changes nothing.
func TestWebhooks_RedeliveryAfterLeaseExpirySameID(t *testing.T) {
	app := testkit.NewApp(t, testkit.WithHTTPWebhooks())
	app.Svc.Webhooks.Close() // this test drives both senders by hand
	other := app.Instance()
	other.Svc.Webhooks.Close()

	rcv := newReceiver(t, http.StatusNoContent)
	ac := app.LoginAs(app.SuperAdmin("root"))
	_, secret := createEndpoint(t, ac, rcv.srv.URL, []string{service.EventAccountCreated}, nil)

	// The first request hangs (the sender "crashes" while it waits).
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	inner := rcv.srv.Config.Handler
	rcv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(arrived)
			<-release
		}
		inner.ServeHTTP(w, r)
	})
	rcv.set(func(r *receiver) { r.secrets = []string{secret} })
	member := app.Member("customer")

	ctx := context.Background()
	done := make(chan error, 1)
	go func() { _, err := app.Svc.Webhooks.DeliverDue(ctx); done <- err }()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first attempt never reached the receiver")
	}
	// Before the lease runs out nobody else takes the delivery.
	if n, err := other.Svc.Webhooks.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("a leased delivery was taken again before its lease ran out: %d %v", n, err)
	}
	app.Clock.Advance(2 * time.Minute) // past the one-minute lease
	if n, err := other.Svc.Webhooks.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("the expired lease was not taken over: %d %v", n, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var ev models.WebhookEvent
	if err := app.Svc.DB.NewSelect().Model(&ev).Where("account_id = ?", member.ID).Where("type = ?", service.EventAccountCreated).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	want := service.WebhookMessageID(ev.ID)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("bad requests: %v", rcv.bad)
	}
	if len(rcv.got) != 2 || rcv.got[0].ID != want || rcv.got[1].ID != want || rcv.seen[want] != 2 {
		t.Fatalf("received %+v, want the message %s twice (same webhook-id)", rcv.got, want)
	}
	var d models.WebhookDelivery
	if err := app.Svc.DB.NewSelect().Model(&d).Where("event_id = ?", ev.ID).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if d.Status != models.WebhookDelivered || d.Attempts != 2 || d.LeaseOwner != "" {
		t.Fatalf("delivery after the takeover: status %s, attempts %d, lease %q", d.Status, d.Attempts, d.LeaseOwner)
	}
}
