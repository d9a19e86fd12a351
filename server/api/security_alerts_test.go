package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/server/mail/mailsink"
	"gatehouse/server/testkit"
)

// User agents of the alert tests.
const (
	uaFirefoxLinux   = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
	uaFirefoxLinux2  = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
	uaChromeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"
	uaChromeAndroid  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36"
	newSignInSubject = "New sign-in to your account"
)

// browser is a fresh client that sends ua.
func browser(app *testkit.App, ua string) *testkit.Client {
	c := app.Client()
	c.Header.Set("User-Agent", ua)
	return c
}

func signIn(t *testing.T, c *testkit.Client, u *testkit.User) {
	t.Helper()
	c.POST("/api/auth/login", map[string]string{"identifier": u.Username, "password": u.Password}).Expect(http.StatusOK)
}

func TestSecurityAlerts_NewDeviceOncePerDevice(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	alice := app.Member("alice")
	count := func() int {
		t.Helper()
		app.FlushMail(sink)
		return len(testkit.MailsTo(sink, *alice.Email, newSignInSubject))
	}

	// The account's first sign-in (right after it was created) raises no
	// alarm: there is no device to compare with.
	a := browser(app, uaFirefoxLinux)
	signIn(t, a, alice)
	if n := count(); n != 0 {
		t.Fatalf("first sign-in alerted: %d", n)
	}
	if a.Cookie("gatehouse_device") == nil {
		t.Fatal("no device cookie after sign-in")
	}
	// The same browser again, and after a browser update: known.
	a.POST("/api/auth/logout", nil).Expect(204)
	signIn(t, a, alice)
	a.Header.Set("User-Agent", uaFirefoxLinux2)
	signIn(t, a, alice)
	if n := count(); n != 0 {
		t.Fatalf("known device alerted: %d", n)
	}

	// Another browser: one alert, naming the browser and linking to the
	// security page; not again for the same browser.
	b := browser(app, uaChromeWindows)
	signIn(t, b, alice)
	if n := count(); n != 1 {
		t.Fatalf("new device: %d alerts, want 1", n)
	}
	msg := testkit.MailsTo(sink, *alice.Email, newSignInSubject)[0]
	for _, want := range []string{"Chrome", "Windows", app.Cfg.BaseURL + "/account/security"} {
		if !strings.Contains(msg.Text, want) {
			t.Fatalf("the alert lacks %q:\n%s", want, msg.Text)
		}
	}
	signIn(t, b, alice)
	signIn(t, b, alice)
	if n := count(); n != 1 {
		t.Fatalf("known device alerted again: %d alerts", n)
	}

	// The same kind of browser without the device cookie (another
	// computer, a private window): the user agent alone, which anyone can
	// send, does not make a device known.
	c := browser(app, uaChromeWindows)
	signIn(t, c, alice)
	if n := count(); n != 2 {
		t.Fatalf("same user agent, no device cookie: %d alerts, want 2", n)
	}
	// A's device cookie carried into another kind of browser: new.
	d := browser(app, uaChromeAndroid)
	d.HTTP.Jar.SetCookies(mustURL(app.URL), []*http.Cookie{{Name: "gatehouse_device", Value: a.Cookie("gatehouse_device").Value, Path: "/"}})
	signIn(t, d, alice)
	if n := count(); n != 3 {
		t.Fatalf("copied device cookie, other browser: %d alerts, want 3", n)
	}

	// One browser, two accounts: each account knows its own devices.
	bob := app.Member("bob")
	signIn(t, b, bob) // bob's first sign-in: silent
	signIn(t, a, bob) // a browser bob never used
	app.FlushMail(sink)
	if n := len(testkit.MailsTo(sink, *bob.Email, newSignInSubject)); n != 1 {
		t.Fatalf("bob: %d alerts, want 1", n)
	}
	if n := count(); n != 3 {
		t.Fatalf("alice got bob's alert: %d", n)
	}
}

func TestSecurityAlerts_NewDeviceInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	li := app.Member("liwei")
	c := app.LoginAs(li)
	c.PATCH("/api/me", map[string]string{"language": "zh-CN"}).Expect(200)
	signIn(t, browser(app, uaChromeWindows), li)
	app.FlushMail(sink)
	got := testkit.MailsTo(sink, *li.Email, "新设备")
	if len(got) != 1 {
		t.Fatalf("%d Chinese alerts; all: %v", len(got), subjects(sink.Messages()))
	}
	if !strings.Contains(got[0].Text, app.Cfg.BaseURL+"/account/security") || !strings.Contains(got[0].Text, "Chrome") {
		t.Fatalf("alert:\n%s", got[0].Text)
	}
}

func TestSecurityAlerts_SecondFactorAddedOrRemoved(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	root := app.SuperAdmin("root")
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	one := func(subject string) {
		t.Helper()
		app.FlushMail(sink)
		got := testkit.MailsTo(sink, *alice.Email, subject)
		if len(got) != 1 {
			t.Fatalf("%d emails about %q, want 1; all: %v", len(got), subject, subjects(sink.Messages()))
		}
		if !strings.Contains(got[0].Text, app.Cfg.BaseURL+"/account/security") || !strings.Contains(got[0].HTML, app.Cfg.BaseURL+"/account/security") {
			t.Fatalf("no link to the security page:\n%s", got[0].Text)
		}
	}

	secret, _ := enrol(t, app, c, alice.Password)
	one("An authenticator app was added to your account")
	app.Clock.Advance(30 * time.Second) // the enrolment used the current code
	c.POST("/api/me/2fa/disable", map[string]string{"password": alice.Password, "code": codeAt(t, secret, app.Clock.Now())}).Expect(204)
	one("The authenticator app was removed from your account")

	auth := testkit.NewAuthenticator("http://gatehouse.test")
	pk := addPasskey(t, c, auth, alice.Password, "Laptop")
	one("A passkey was added to your account")
	c.Do("DELETE", "/api/me/passkeys/"+pk["id"].(string), map[string]string{"password": alice.Password}).Expect(204)
	one("A passkey was removed from your account")

	// An administrator's reset tells the person too.
	addPasskey(t, c, auth, alice.Password, "Phone")
	admin := app.LoginAs(root)
	admin.POST("/api/admin/users/"+alice.PublicID+"/reset-2fa", map[string]string{"reason": "lost phone"}).Expect(200)
	one("An administrator reset the second factors of your account")
	app.FlushMail(sink)
	if n := len(testkit.MailsTo(sink, *alice.Email, "A passkey was added")); n != 2 {
		t.Fatalf("%d passkey-added emails, want 2", n)
	}
	// Renaming a passkey or regenerating nothing adds no email.
	if n := len(testkit.MailsTo(sink, *alice.Email, "")); n != 6 {
		t.Fatalf("%d emails in all, want 6: %v", n, subjects(sink.Messages()))
	}
}

func TestSecurityAlerts_SecondFactorInChinese(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	li := app.Member("liwei")
	c := app.LoginAs(li)
	c.PATCH("/api/me", map[string]string{"language": "zh-CN"}).Expect(200)
	enrol(t, app, c, li.Password)
	auth := testkit.NewAuthenticator("http://gatehouse.test")
	addPasskey(t, c, auth, li.Password, "笔记本")
	app.FlushMail(sink)
	for _, want := range []string{"身份验证器应用", "通行密钥"} {
		got := testkit.MailsTo(sink, *li.Email, want)
		if len(got) != 1 || !strings.Contains(got[0].Text, app.Cfg.BaseURL+"/account/security") {
			t.Fatalf("%q: %d emails; all: %v", want, len(got), subjects(sink.Messages()))
		}
	}
}

func subjects(ms []mailsink.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}
