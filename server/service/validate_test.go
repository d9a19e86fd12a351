package service_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/server/service"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	def := service.PasswordPolicy{MinLength: 10, BlockCommon: true, BlockPersonalInfo: true}
	lax := service.PasswordPolicy{MinLength: 10}
	long128 := string([]rune(strings.Repeat(" pâss wörd 密码", 10))[:127]) + " "

	cases := []struct {
		name     string
		policy   service.PasswordPolicy
		password string
		username string
		email    string
		want     string // "" accepted, else a substring of the reason
	}{
		{"empty", def, "", "alice", "", "at least 10 characters"},
		{"9 characters", def, "vivid-orb", "alice", "", "at least 10 characters"},
		{"10 characters", def, "vivid-orbi", "alice", "", ""},
		{"no composition rules: lowercase only", def, "correcthorsebatterystaple", "alice", "", ""},
		{"no composition rules: digits only", def, "8302749165", "alice", "", ""},
		{"spaces count and are kept", def, "  a b c d e  ", "alice", "", ""},
		{"only spaces", def, "          ", "alice", "", "only spaces"},
		{"only whitespace of several kinds", def, " \t\u3000\u00a0      ", "alice", "", "only spaces"},
		{"one character repeated", def, "zzzzzzzzzzzz", "alice", "", "one character repeated"},
		{"one character repeated after normalisation", def, "ＺZＺZＺZＺZＺZ", "alice", "", "one character repeated"},
		{"length counts the normalised form (6 typed, 10 after NFKC)", def, "ﬁﬁﬁﬁ-x", "alice", "", ""},
		{"length counts characters, not bytes (10 runes)", def, "密码密码密码密码密码", "alice", "", ""},
		{"length counts characters, not bytes (9 runes, 27 bytes)", def, "密码密码密码密码密", "alice", "", "at least 10 characters"},
		{"128 characters with unicode and spaces", def, long128, "alice", "", ""},
		{"129 characters", def, long128 + "x", "alice", "", "at most 128 characters"},
		{"129 ASCII characters", def, strings.Repeat("q", 129), "alice", "", "at most 128 characters"},
		{"invalid UTF-8", def, "abc\xff\xfedefghijk", "alice", "", "valid text"},
		{"policy minimum above default", service.PasswordPolicy{MinLength: 16}, "fifteen-chars-x", "alice", "", "at least 16 characters"},
		{"policy minimum never below 8", service.PasswordPolicy{MinLength: 4}, "seven-7", "alice", "", "at least 8 characters"},
		{"policy minimum 8 accepts 8", service.PasswordPolicy{MinLength: 4}, "eight-88", "alice", "", ""},
		{"policy minimum 0 means 8", service.PasswordPolicy{}, "seven-7", "alice", "", "at least 8 characters"},
		{"common password", def, "password123", "alice", "", "commonly used"},
		{"common password, other case", def, "PassWord1234", "alice", "", "commonly used"},
		{"common password, 10 chars", def, "qwertyuiop", "alice", "", "commonly used"},
		{"common password allowed when the policy says so", lax, "password123", "alice", "", ""},
		{"contains the username", def, "my-alice-password", "alice", "", "username"},
		{"contains the username, other case", def, "ALICE-in-chains-9", "alice", "", "username"},
		{"is the username", def, "alice.wonderland", "Alice.Wonderland", "", "username"},
		{"contains the email name", def, "xx-wonder-xx-1", "alice", "wonder@example.com", "email"},
		{"contains the email name, other case", def, "xx-WONDER-xx-1", "alice", "wonder@example.com", "email"},
		{"personal info allowed when the policy says so", lax, "my-alice-password", "alice", "alice@example.com", ""},
		{"very short usernames are not matched", def, "password-with-bo-inside", "bo", "", ""},
		{"very short email names are not matched", def, "vivid-orbit-ab-9", "alice", "ab@example.com", ""},
		{"no email given", def, "vivid-orbit-tangerine", "alice", "", ""},
	}
	for _, tc := range cases {
		got := service.CheckPassword(tc.policy, tc.password, tc.username, tc.email)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: refused with %q, want accepted", tc.name, got)
		case tc.want != "" && got == "":
			t.Errorf("%s: accepted, want refused (%q)", tc.name, tc.want)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: reason %q does not mention %q", tc.name, got, tc.want)
		}
	}
}

// TestTimeZoneDataIsEmbedded guards the "binary embeds tzdata" promise:
// without it, hosts lacking /usr/share/zoneinfo (containers, Windows)
// would refuse every time zone but UTC. LoadLocation cannot show this on
// a host that has the files, so the import itself is checked.
func TestTimeZoneDataIsEmbedded(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"time/tzdata"` {
				return
			}
		}
	}
	t.Fatal(`no file of package service imports "time/tzdata"`)
}
