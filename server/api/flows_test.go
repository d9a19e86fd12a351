package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/server/mail/mailsink"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

var tokenRe = regexp.MustCompile(`token=([A-Za-z0-9_%-]+)`)

func tokenFrom(t *testing.T, m mailsink.Message, wantPrefix string) string {
	t.Helper()
	i := regexp.MustCompile(regexp.QuoteMeta(wantPrefix) + `\?token=`).FindStringIndex(m.Text)
	if i == nil {
		t.Fatalf("no link starting %s in: %s", wantPrefix, m.Text)
	}
	tok := tokenRe.FindStringSubmatch(m.Text[i[0]:])[1]
	tok, _ = url.QueryUnescape(tok)
	return tok
}

func TestRegistrationWithVerification(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithBaseURL("https://accounts.example.org"))
	sink := app.Mailbox()
	c := app.Client()
	body := map[string]any{"username": "newbie", "email": "newbie@corp.example", "password": "A-Fine-Passphrase-7"}
	if r := c.POST("/api/auth/register", body).Expect(403); r.ErrorCode() != "registration_closed" {
		t.Fatal(r.ErrorCode())
	}
	app.SetRegistration(func(r *service.RegistrationSettings) {
		r.EmailRegistrationEnabled, r.RequireEmailVerification = true, true
		r.AllowedDomains, r.AllowSubdomains, r.BlockPlusAliases = []string{"corp.example"}, true, true
	})
	for email, ok := range map[string]bool{"x@other.example": false, "x+tag@corp.example": false, "first.last@corp.example": true, "y@eu.corp.example": true} {
		r := c.POST("/api/auth/register", map[string]any{"username": "probe" + string(rune('a'+len(email)%26)) + "x", "email": email, "password": "A-Fine-Passphrase-7"})
		if ok != (r.Status == 202) {
			t.Errorf("%s: status %d %s", email, r.Status, r.Body)
		}
	}
	c.POST("/api/auth/register", body, "Host", "evil.example").Expect(202)
	m := testkit.WaitMail(t, sink, "newbie@corp.example", "Confirm")
	token := tokenFrom(t, m, "https://accounts.example.org/verify-email")
	// Pending accounts cannot sign in; after the right password they hear why.
	expectError(t, c.POST("/api/auth/login", map[string]string{"identifier": "newbie", "password": "A-Fine-Passphrase-7"}), 403, "email_unverified")
	c.POST("/api/auth/verify-email", map[string]string{"token": token}).Expect(200)
	c.POST("/api/auth/verify-email", map[string]string{"token": token}).Expect(422) // single use
	c.POST("/api/auth/login", map[string]string{"identifier": "newbie", "password": "A-Fine-Passphrase-7"}).Expect(200)
	if me := c.GET("/api/me").Expect(200).Map(); me["emailVerified"] != true || me["status"] != "active" {
		t.Fatal(me)
	}
}

func TestRegistrationDoesNotRevealExistingEmail(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	app.SetRegistration(func(r *service.RegistrationSettings) {
		r.EmailRegistrationEnabled, r.RequireEmailVerification = true, true
	})
	app.Member("alice")
	a := app.Client().POST("/api/auth/register", map[string]any{"username": "someone", "email": "alice@example.com", "password": "A-Fine-Passphrase-7"}).Expect(202)
	b := app.Client().POST("/api/auth/register", map[string]any{"username": "another", "email": "fresh@example.com", "password": "A-Fine-Passphrase-7"}).Expect(202)
	if string(a.Body) != string(b.Body) {
		t.Fatalf("answers differ: %s vs %s", a.Body, b.Body)
	}
	testkit.WaitMail(t, sink, "alice@example.com", "Someone tried")
	if _, err := models.UserByUsername(t.Context(), app.Svc.DB, "someone"); err == nil {
		t.Fatal("an account was created for a taken email")
	}
}

func TestPasswordResetByEmail(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, testkit.WithBaseURL("https://accounts.example.org"))
	app.SetSecurity(func(s *service.SecuritySettings) { s.LockThreshold = 2 })
	sink := app.Mailbox()
	alice := app.Member("alice")
	session := app.LoginAs(alice)
	// Lock her out first: the reset clears the lock.
	for i := 0; i < 2; i++ {
		app.Client().POST("/api/auth/login", map[string]string{"identifier": "alice", "password": "nope-nope-nope"}).Expect(401)
	}
	known := app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}, "Host", "evil.example", "X-Forwarded-Host", "evil.example").Expect(202)
	unknown := app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "ghost@example.com"}).Expect(202)
	if string(known.Body) != string(unknown.Body) {
		t.Fatal("forgot-password answers differ")
	}
	m := testkit.WaitMail(t, sink, "alice@example.com", "Reset")
	token := tokenFrom(t, m, "https://accounts.example.org/reset-password")
	c := app.Client()
	if r := c.POST("/api/auth/reset-password", map[string]string{"token": token, "password": "short"}).Expect(422); r.Fields()["password"] == "" {
		t.Fatal(r.Fields())
	}
	// 20 parallel uses of one link: exactly one succeeds.
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if app.Client().POST("/api/auth/reset-password", map[string]string{"token": token, "password": "Brand-New-Passphrase-1"}).Status == http.StatusNoContent {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d uses succeeded", ok.Load())
	}
	if c.GET("/api/me").Status != 401 {
		t.Fatal("a reset signed the user in")
	}
	session.GET("/api/me").Expect(401) // old sessions end
	app.LoginAs(&testkit.User{User: alice.User, Password: "Brand-New-Passphrase-1"})
}

func TestResetTokenExpiresAndIsVoidedByNewer(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	app.Member("alice")
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	first := tokenFrom(t, testkit.WaitMail(t, sink, "alice@example.com", "Reset"), "/reset-password")
	app.Clock.Advance(2 * time.Minute)
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	var second string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if msgs := sink.Messages(); len(msgs) == 2 {
			second = tokenFrom(t, msgs[1], "/reset-password")
			break
		}
	}
	if second == "" || second == first {
		t.Fatal("no second link")
	}
	app.Client().POST("/api/auth/reset-password", map[string]string{"token": first, "password": "Brand-New-Passphrase-1"}).Expect(422)
	app.Clock.Advance(61 * time.Minute)
	app.Client().POST("/api/auth/reset-password", map[string]string{"token": second, "password": "Brand-New-Passphrase-1"}).Expect(422)
}

func TestEmailChangeNeedsConfirmation(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	c.POST("/api/me/email", map[string]string{"email": "alice@new.example", "password": "wrong-one-here"}).Expect(422)
	c.POST("/api/me/email", map[string]string{"email": "alice@new.example", "password": alice.Password}).Expect(202)
	if me := c.GET("/api/me").Expect(200).Map(); me["email"] != "alice@example.com" {
		t.Fatal("email changed before confirmation")
	}
	token := tokenFrom(t, testkit.WaitMail(t, sink, "alice@new.example", "new email"), "/verify-email")
	app.Client().POST("/api/auth/verify-email", map[string]string{"token": token}).Expect(200)
	if me := c.GET("/api/me").Expect(200).Map(); me["email"] != "alice@new.example" || me["emailVerified"] != true {
		t.Fatal(me)
	}
}

func TestTurnstileVerifiedServerSide(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		ok := r.PostForm.Get("secret") == "ts-secret" && r.PostForm.Get("response") == "good-token"
		w.Header().Set("Content-Type", "application/json")
		if ok {
			_, _ = w.Write([]byte(`{"success":true}`))
		} else {
			_, _ = w.Write([]byte(`{"success":false}`))
		}
	}))
	defer fake.Close()
	app := testkit.NewApp(t, func(c *testkit.Config) { c.TurnstileVerifyURL = fake.URL })
	app.SetRegistration(func(r *service.RegistrationSettings) { r.EmailRegistrationEnabled = true })
	admin := app.LoginAs(app.SuperAdmin("root"))
	admin.PUT("/api/admin/settings/human-verification", map[string]any{"version": 0, "turnstileEnabled": true, "siteKey": "site-key-1", "secret": "ts-secret"}).Expect(200)
	if o := app.Client().GET("/api/auth/options").Expect(200).Map(); o["turnstileSiteKey"] != "site-key-1" {
		t.Fatal(o)
	}
	body := map[string]any{"username": "human", "email": "human@example.com", "password": "A-Fine-Passphrase-7"}
	app.Client().POST("/api/auth/register", body).Expect(403)
	body["turnstileToken"] = "bad-token"
	app.Client().POST("/api/auth/register", body).Expect(403)
	body["turnstileToken"] = "good-token"
	app.Client().POST("/api/auth/register", body).Expect(202)
	if calls.Load() != 2 {
		t.Fatalf("siteverify called %d times, want 2", calls.Load())
	}
}

func TestEmailChangeNeedsSMTP(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	r := app.LoginAs(alice).POST("/api/me/email", map[string]string{"email": "alice@new.example", "password": alice.Password}).Expect(409)
	if r.ErrorCode() != "email_not_configured" {
		t.Fatal(r.ErrorCode())
	}
}
