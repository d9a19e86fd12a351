package service

import (
	"encoding/json"
	"testing"
	"time"

	"gatehouse/models"
)

// TestWebhooks_BulkPayloadTemplateMatchesWholeEncoding: a bulk change's
// events are spliced from one encoded payload per kind of entry
// (payloadTemplate); every byte must be what encoding each event whole
// gives (eventRow), for every event type that takes the template, with
// names, reasons and details that JSON escapes (quotes, <, >, &, U+2028,
// non-ASCII), with and without an actor and a reason.
func TestWebhooks_BulkPayloadTemplateMatchesWholeEncoding(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 30, 0, 123456789, time.FixedZone("x", 3600))
	actors := []Actor{{}, {User: &models.User{PublicID: "adm<1>", Username: `root "&" \ ` + "\u2028é"}, IP: "192.0.2.1"}}
	targets := []*models.User{{ID: 7, PublicID: "p7", Username: "ann"}, {ID: 8, PublicID: `q"8<`, Username: "bé&n\u2029"}}
	details := []map[string]any{
		{"before": "suspended", "after": "deactivated"},
		{"before": map[string]any{"role": "user"}, "after": map[string]any{"role": "admin"}},
		{"before": map[string]any{"timezone": "UTC<"}, "after": map[string]any{"timezone": "Asia/Tokyo"}},
		{"revoked": 3},
		{"lockedUntil": "2026-12-02T00:00:00Z"},
		{},
	}
	checked := 0
	for _, typ := range WebhookEventTypes {
		for _, actor := range actors {
			for _, reason := range []string{"", `bulk "cleanup" <script>&`} {
				for _, d := range details {
					b, err := json.Marshal(d)
					if err != nil {
						t.Fatal(err)
					}
					var decoded map[string]any
					if err := json.Unmarshal(b, &decoded); err != nil {
						t.Fatal(err)
					}
					e := AuditEntry{Actor: actor, Reason: reason, DetailsJSON: string(b), Target: targets[0]}
					if _, ok := templateKey(typ, e); !ok {
						continue
					}
					tmpl, err := newPayloadTemplate(typ, e, decoded, now)
					if err != nil || tmpl == nil {
						t.Fatalf("%s: template %v %v", typ, tmpl, err)
					}
					for _, target := range targets {
						e.Target = target
						got, err := tmpl.event(typ, target, "run", now)
						if err != nil {
							t.Fatal(err)
						}
						want, err := eventRow(typ, target.ID, nil, "run", now, webhookData(typ, e, decoded))
						if err != nil {
							t.Fatal(err)
						}
						if got != want {
							t.Fatalf("%s, actor %v, reason %q, details %s:\n got %+v\nwant %+v", typ, actor.User, reason, b, got, want)
						}
						checked++
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no event type took the template")
	}
	// A value that is the placeholder itself gets no template (each such
	// event is encoded whole).
	d := map[string]any{"before": "active", "after": accountPlaceholder}
	b, _ := json.Marshal(d)
	e := AuditEntry{Target: targets[0], DetailsJSON: string(b)}
	if tmpl, err := newPayloadTemplate(EventAccountStatusChanged, e, d, now); err != nil || tmpl != nil {
		t.Fatalf("placeholder as a value: %v %v", tmpl, err)
	}
}
