package api_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// The emails an end user gets follow the account's language and read as
// sentences: the greeting names the account when it has no display name,
// and the link's lifetime is words ("1 hour", "1 小时"), not Go's "1h".
func TestEmails_FollowTheAccountLanguageAndReadAsSentences(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	sink := app.Mailbox()
	app.Member("alice")
	bob := app.Member("bob")
	if _, err := app.Svc.DB.NewUpdate().Model((*models.User)(nil)).Set("language = ?", "zh-CN").Where("id = ?", bob.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "alice@example.com"}).Expect(202)
	en := testkit.WaitMail(t, sink, "alice@example.com", "Reset your password")
	for _, want := range []string{"Hello alice, someone asked", "expires in 1 hour."} {
		if !strings.Contains(en.Text, want) || !strings.Contains(en.HTML, want) {
			t.Errorf("English reset email lacks %q:\n%s", want, en.Text)
		}
	}
	if !strings.Contains(en.HTML, `<html lang="en">`) {
		t.Errorf("English email HTML has no lang: %s", en.HTML)
	}
	app.Client().POST("/api/auth/forgot-password", map[string]string{"email": "bob@example.com"}).Expect(202)
	zh := testkit.WaitMail(t, sink, "bob@example.com", "重置您的密码")
	for _, want := range []string{"bob，您好！", "将在 1 小时后失效"} {
		if !strings.Contains(zh.Text, want) {
			t.Errorf("Chinese reset email lacks %q:\n%s", want, zh.Text)
		}
	}
	// The link names the language: the page it opens speaks it, whatever
	// the browser's language (issue 15).
	if !regexp.MustCompile(`/reset-password\?token=[A-Za-z0-9_%-]+&lang=zh-CN\s`).MatchString(zh.Text) {
		t.Errorf("the Chinese reset link does not name its language:\n%s", zh.Text)
	}
	if !strings.Contains(zh.HTML, `<html lang="zh-CN">`) {
		t.Errorf("Chinese email HTML has no lang: %s", zh.HTML)
	}
	// Go's duration ("1h", "1h0m0s") as a word of its own; a "1h" inside
	// the link's random token (…R1hN…) is not one.
	goDuration := regexp.MustCompile(`(^|[^A-Za-z0-9_-])1h`)
	for _, m := range []string{en.Text, zh.Text} {
		if goDuration.MatchString(m) || strings.HasPrefix(m, "Hello ,") || strings.HasPrefix(m, "，") {
			t.Errorf("email does not read as a sentence:\n%s", m)
		}
	}
}
