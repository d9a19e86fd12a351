package service

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/mail"
	"gatehouse/server/security"
	"gatehouse/server/useragent"
)

// knownDevicesKept is how many devices an account remembers (the most
// recently seen); a client that never keeps its cookie cannot grow the
// table without bound.
const knownDevicesKept = 50

// DeviceCookieLifetime is how long a browser keeps its device cookie
// (the most browsers allow: Chrome caps cookies at 400 days). Every
// sign-in renews it.
const DeviceCookieLifetime = 400 * 24 * time.Hour

// Alerts tells people by email about security events on their account:
// a sign-in from a device it had not used, and a second factor added or
// removed. Each email is queued in the outbox inside the transaction of
// the event it reports, so that it goes out exactly when the event
// happened (never for a change that rolled back), and is sent by the
// outbox sender, off the request.
//
// A device is a browser's device cookie (a random token the server sets
// at sign-in, kept for DeviceCookieLifetime, stored here only hashed)
// together with the browser and operating-system families of its user
// agent. Both must match for a sign-in to be from a known device:
//   - the user agent alone is no identity: anyone can send any, and the
//     commonest pair (Chrome on Windows) would hide most strangers;
//   - the cookie alone could be carried to another machine; a browser
//     update keeps the families, so only a different browser or system
//     with the same cookie counts as new.
//
// A browser whose cookies were cleared, a private window or a client that
// keeps no cookies is a new device each time: as with Google's and banks'
// alerts, an email too many is the price of never missing a stranger.
//
// The account's first recorded sign-in is silent: right after the
// account was created (by registration, an administrator, setup or the
// shell) there is nothing to compare with and the person knows they are
// signing in; and an account that existed before devices were recorded
// does not get an email for the browser it has always used.
type Alerts struct {
	svc *Services
}

// SignedIn records the device of a completed sign-in (in tx, the
// transaction that starts the session) and queues the new-device alert
// when the account had devices and this is not one of them. It returns
// the device token the browser keeps: the one it sent, or a new one.
func (a *Alerts) SignedIn(ctx context.Context, tx bun.IDB, actor Actor, u *models.User, now time.Time) (string, error) {
	token := actor.Device
	if len(token) < 32 || len(token) > 64 {
		token = security.NewToken(32)
	}
	ua := useragent.Parse(actor.UserAgent)
	d := &models.KnownDevice{UserID: u.ID, DeviceHash: security.HashToken(token), Browser: ua.Browser, OS: ua.OS, FirstSeenAt: now, LastSeenAt: now, LastIP: truncate(actor.IP, 64)}
	known, err := models.TouchKnownDevice(ctx, tx, d)
	if err != nil || known {
		return token, err
	}
	any, err := models.HasKnownDevices(ctx, tx, u.ID)
	if err != nil {
		return token, err
	}
	if err := models.AddKnownDevice(ctx, tx, d, knownDevicesKept); err != nil {
		return token, err
	}
	if !any {
		return token, nil
	}
	device := useragent.Describe(actor.UserAgent)
	if device == "" {
		device = "?"
	}
	return token, a.send(ctx, tx, mail.KindNewDevice, u, now, mail.Data{Device: device, IP: actor.IP})
}

// FactorChanged queues the email that says a second factor was added or
// removed (kind), in tx, the transaction of the change.
func (a *Alerts) FactorChanged(ctx context.Context, tx bun.IDB, kind mail.Kind, u *models.User, detail string) error {
	return a.send(ctx, tx, kind, u, a.svc.Now(), mail.Data{Detail: detail})
}

// send renders and queues an alert to the account's own address: a
// verified one, or one an administrator vouched for. An address the
// person typed but never confirmed may be someone else's, who must not
// read where and when this account signs in.
func (a *Alerts) send(ctx context.Context, tx bun.IDB, kind mail.Kind, u *models.User, at time.Time, d mail.Data) error {
	if !emailSignInAddress(u) {
		return nil
	}
	d.Name = mailName(u)
	d.Link = a.svc.BaseURL + securityPagePath
	d.Time = alertTime(at, u.Timezone)
	msg, err := mail.Render(kind, u.Language, *u.Email, d)
	if err != nil {
		return err
	}
	return a.svc.Outbox.Enqueue(ctx, tx, OutboxItem{Kind: kind, User: u, Message: msg})
}

// alertTime writes t in the account's time zone (UTC when it has none or
// an unknown one), with the zone's name.
func alertTime(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if zone == "" || err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
