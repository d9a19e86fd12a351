package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// planted is a provider account that claims someone else's address
// without the provider verifying it.
func planted(sub, username, email string, claim any, present bool) *person {
	p := &person{sub: sub, extra: map[string]any{"preferred_username": username, "email": email}}
	if present {
		p.extra["email_verified"] = claim
	}
	return p
}

func userByID(t *testing.T, app *testkit.App, id int64) *models.User {
	t.Helper()
	u, err := models.UserByID(context.Background(), app.Svc.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Item 5: a provider that did not verify an address plants an account
// with it; the address blocks nobody, names the planted account for
// nothing, and goes to whoever proves it.
func TestHardening_PlantedAccountLosesUnverifiedAddress(t *testing.T) {
	t.Parallel()
	w := newIdP(t, map[string]any{"autoLinkByEmail": true})
	app := w.app
	sink := app.Mailbox()
	app.SetRegistration(func(r *service.RegistrationSettings) {
		r.EmailRegistrationEnabled, r.RequireEmailVerification = true, true
	})
	const victim = "victim@example.org"
	// email_verified false, the string "true", or no claim: each registers
	// an account whose address is stored unverified.
	var plantedIDs []int64
	for i, p := range []*person{
		planted("evil-1", "mallory", victim, false, true),
		planted("evil-2", "mallory2", strings.ToUpper(victim), "true", true),
		planted("evil-3", "mallory3", victim, nil, false),
	} {
		c := app.Client()
		location(t, w.roundTrip(c, p, ""))
		me := c.GET("/api/me").Expect(200).Map()
		if me["emailVerified"] != false || !strings.EqualFold(me["email"].(string), victim) {
			t.Fatalf("planted %d: %v", i, me)
		}
		plantedIDs = append(plantedIDs, userByUsername(t, app, me["username"].(string)).ID)
	}
	// The planted address names nobody: no reset link goes to it.
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": victim}).Expect(202)
	app.FlushMail(sink)
	if n := len(testkit.MailsTo(sink, victim, "Reset")); n != 0 {
		t.Fatalf("%d reset emails for a planted address", n)
	}
	// The owner registers: not refused, no "someone tried" notice, a
	// confirmation link instead.
	c := app.Client()
	c.POST("/api/auth/register", map[string]any{"username": "victim", "email": victim, "password": "A-Fine-Passphrase-7"}).Expect(202)
	m := testkit.WaitMail(t, sink, victim, "Confirm")
	if n := len(testkit.MailsTo(sink, victim, "Someone tried")); n != 0 {
		t.Fatal("the planted address counted as an existing account")
	}
	c.POST("/api/auth/verify-email", map[string]string{"token": tokenFrom(t, m, "http://gatehouse.test/verify-email")}).Expect(200)
	owner := userByUsername(t, app, "victim")
	if owner.EmailVerifiedAt == nil || owner.Status != models.StatusActive {
		t.Fatalf("owner not confirmed: %+v", owner)
	}
	// Every planted account lost the address, audited.
	for _, id := range plantedIDs {
		p := userByID(t, app, id)
		if p.Email != nil {
			t.Fatalf("planted account %s still holds %s", p.Username, *p.Email)
		}
		rows := auditRows(t, app, service.ActionEmailReleased, p.PublicID)
		if len(rows) != 1 || details(t, rows[0])["provedBy"] != owner.PublicID || !strings.EqualFold(details(t, rows[0])["email"].(string), victim) {
			t.Fatalf("release of %s not audited: %v", p.Username, rows)
		}
	}
	// The planted identity still signs in, but only to its own account.
	pc := app.Client()
	location(t, w.roundTrip(pc, planted("evil-1", "mallory", victim, false, true), ""))
	if me := pc.GET("/api/me").Expect(200).Map(); me["publicId"] == owner.PublicID || me["email"] != nil {
		t.Fatalf("planted identity reached %v", me)
	}
	// And the owner signs in by the address.
	setSigninEmail(t, app)
	app.Client().POST("/api/auth/login", creds(victim, "A-Fine-Passphrase-7")).Expect(200)
	if got := userByID(t, app, plantedIDs[0]); got.Email != nil {
		t.Fatal("sign-in gave the address back")
	}
}

func setSigninEmail(t *testing.T, app *testkit.App) {
	t.Helper()
	s, err := app.Svc.Settings.Signin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.EmailEnabled = true
	if err := app.Svc.Settings.Store(context.Background(), service.GroupSignin, s); err != nil {
		t.Fatal(err)
	}
}

// Item 5: a reset through the email removes the provider links that were
// made without a verified email, and says so in the audit log; following
// the link proves the address.
func TestHardening_MailedResetRemovesUnverifiedLinks(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	sink := app.Mailbox()
	const addr = "shared@example.org"
	c := app.Client()
	location(t, w.roundTrip(c, planted("evil-9", "planted", addr, false, true), ""))
	p := userByUsername(t, app, "planted")
	ids := identitiesOf(t, app, p.ID)
	if len(ids) != 1 || ids[0].EmailVerified {
		t.Fatalf("identity must record the unverified email: %+v", ids)
	}
	// An administrator vouches for the address (say, the owner asked
	// them to), so it names the account and a reset can go there.
	w.rc.PATCH("/api/admin/users/"+p.PublicID, map[string]any{"email": "Shared@Example.org"}).Expect(200)
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": addr}).Expect(202)
	m := testkit.WaitMail(t, sink, "Shared@Example.org", "Reset")
	app.Client().POST("/api/auth/reset-password", map[string]string{"token": tokenFrom(t, m, "http://gatehouse.test/reset-password"), "password": "Owner-Passphrase-42"}).Expect(204)
	if ids := identitiesOf(t, app, p.ID); len(ids) != 0 {
		t.Fatalf("unverified link survived the reset: %+v", ids)
	}
	rows := auditRows(t, app, service.ActionIdentityUnlinked, p.PublicID)
	if len(rows) != 1 || rows[0].Reason != service.ResetUnlinkReason || details(t, rows[0])["provider"] != "mock" {
		t.Fatalf("unlink not audited: %+v", rows)
	}
	reset := auditRows(t, app, service.ActionPasswordResetByMail, p.PublicID)
	if len(reset) != 1 || details(t, reset[0])["unlinkedProviders"] == nil || details(t, reset[0])["emailVerified"] != "Shared@Example.org" {
		t.Fatalf("reset audit: %+v", reset)
	}
	if got := userByID(t, app, p.ID); got.EmailVerifiedAt == nil {
		t.Fatal("the reset link did not prove the address")
	}
	// The planted identity no longer reaches the account (and cannot
	// plant the now proved address again).
	wantRefused(t, w.roundTrip(app.Client(), planted("evil-9", "planted", addr, false, true), ""), "email_in_use")
	if ids := identitiesOf(t, app, p.ID); len(ids) != 0 {
		t.Fatal("relinked")
	}
	// A link made with a verified email stays through a reset.
	dana := app.Member("dana")
	verifyEmail(t, app, dana)
	dc := app.LoginAs(dana)
	link := dc.POST("/api/me/identities/mock/link", map[string]string{"password": dana.Password})
	if link.Status == http.StatusOK {
		location(t, w.fromProvider(dc, verified("p-dana", "dana", "dana@example.com"), link.Map()["redirectUrl"].(string)))
		app.Clock.Advance(2 * time.Minute)
		app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "dana@example.com"}).Expect(202)
		m := testkit.WaitMail(t, sink, "dana@example.com", "Reset")
		app.Client().POST("/api/auth/reset-password", map[string]string{"token": tokenFrom(t, m, "http://gatehouse.test/reset-password"), "password": "Fresh-Passphrase-42"}).Expect(204)
		if ids := identitiesOf(t, app, dana.ID); len(ids) != 1 {
			t.Fatalf("verified link removed: %+v", ids)
		}
	}
}

// Item 5: uniqueness holds among verified addresses only, in the schema.
func TestHardening_EmailUniqueAmongVerifiedOnly(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	ctx := context.Background()
	mk := func(name string, verified bool) error {
		now := app.Clock.Now()
		u := &models.User{PublicID: "pid" + name, DisplayName: name, Language: "en", Timezone: "UTC", Preferences: "{}", Role: models.RoleUser, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
		u.SetUsername(name)
		u.SetEmail("Same@Example.org")
		if verified {
			u.EmailVerifiedAt = &now
		}
		_, err := app.Svc.DB.NewInsert().Model(u).Exec(ctx)
		return err
	}
	for _, n := range []string{"una", "uno"} {
		if err := mk(n, false); err != nil {
			t.Fatalf("second unverified holder refused: %v", err)
		}
	}
	if err := mk("vera", true); err != nil {
		t.Fatal(err)
	}
	if err := mk("veronica", true); err == nil {
		t.Fatal("two verified holders of one address")
	}
}

// Item 5: which account an address names at email sign-in. The verified
// holder wins; without one, the single vouched holder (set by an
// administrator or the shell, or registered without verification); two
// vouched holders name nobody; an address nobody vouched for names nobody.
func TestHardening_EmailSignInResolution(t *testing.T) {
	t.Parallel()
	w := newIdP(t, nil)
	app := w.app
	setSigninEmail(t, app)
	// Admin-made account, address unverified: signs in by address.
	alice := app.Member("alice")
	app.Client().POST("/api/auth/login", creds("alice@example.com", alice.Password)).Expect(200)
	// Her address is in use: a provider cannot plant it.
	wantRefused(t, w.roundTrip(app.Client(), planted("evil-a", "mal", "alice@example.com", false, true), ""), "email_in_use")
	app.Client().POST("/api/auth/login", creds("alice@example.com", alice.Password)).Expect(200)
	// A planted account that got a password still cannot sign in by the
	// address it never proved.
	location(t, w.roundTrip(app.Client(), planted("evil-b", "mallory", "lonely@example.org", false, true), ""))
	mal := userByUsername(t, app, "mallory")
	bob := app.CreateUser(testkit.UserSpec{Username: "bob", Email: "bob@example.com", Password: "Another-Own-Passphrase-5"})
	ctx := context.Background()
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("password_hash = ?", *bob.PasswordHash).Where("id = ?", mal.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	expectError(t, app.Client().POST("/api/auth/login", creds("lonely@example.org", bob.Password)), 401, "invalid_credentials")
	// Two vouched holders (data from before the rule): the address names
	// nobody; each still signs in by username.
	carol := app.Member("carol")
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("email = ?", "carol@example.com").Set("email_lower = ?", "carol@example.com").Set("email_vouched = ?", true).Where("id = ?", bob.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	expectError(t, app.Client().POST("/api/auth/login", creds("carol@example.com", carol.Password)), 401, "invalid_credentials")
	expectError(t, app.Client().POST("/api/auth/login", creds("carol@example.com", bob.Password)), 401, "invalid_credentials")
	app.Client().POST("/api/auth/login", creds("carol", carol.Password)).Expect(200)
	// Once one of them proves it, it is theirs alone.
	verifyEmail(t, app, carol)
	app.Client().POST("/api/auth/login", creds("carol@example.com", carol.Password)).Expect(200)
	expectError(t, app.Client().POST("/api/auth/login", creds("carol@example.com", bob.Password)), 401, "invalid_credentials")
}
