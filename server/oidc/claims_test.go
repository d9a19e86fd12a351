package oidc

import (
	"testing"
)

func TestMapClaims(t *testing.T) {
	m := Mapping{Subject: "id", Username: "login", DisplayName: "profile.name", Email: "email", EmailVerified: "email_verified"}
	cases := []struct {
		name    string
		claims  string
		want    Profile
		wantErr bool
	}{
		{"numeric subject kept exact", `{"id": 123456789012345678, "login": "octo", "profile": {"name": "Octo Cat"}}`,
			Profile{Subject: "123456789012345678", Username: "octo", DisplayName: "Octo Cat"}, false},
		{"verified is JSON true", `{"id": "a", "email": "a@x.io", "email_verified": true}`, Profile{Subject: "a", Email: "a@x.io", EmailVerified: true}, false},
		{"string true does not count", `{"id": "a", "email_verified": "true"}`, Profile{Subject: "a"}, false},
		{"false does not count", `{"id": "a", "email_verified": false}`, Profile{Subject: "a"}, false},
		{"missing does not count", `{"id": "a"}`, Profile{Subject: "a"}, false},
		{"1 does not count", `{"id": "a", "email_verified": 1}`, Profile{Subject: "a"}, false},
		{"missing subject", `{"login": "x"}`, Profile{}, true},
		{"fractional subject", `{"id": 1.5}`, Profile{}, true},
		{"object subject", `{"id": {"a": 1}}`, Profile{}, true},
		{"empty subject", `{"id": ""}`, Profile{}, true},
		{"path through a non-object", `{"id": "a", "profile": "flat"}`, Profile{Subject: "a"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims, err := decodeObject([]byte(c.claims))
			if err != nil {
				t.Fatal(err)
			}
			got, err := MapClaims(claims, m)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestLookupPrefersLiteralDottedName(t *testing.T) {
	claims := map[string]any{"a.b": "literal", "a": map[string]any{"b": "nested"}}
	if v, _ := lookup(claims, "a.b"); v != "literal" {
		t.Fatalf("got %v", v)
	}
}

func TestValidPath(t *testing.T) {
	for p, want := range map[string]bool{"sub": true, "profile.name": true, "": false, "a..b": false, "a b": false, ".a": false, "a/b": false} {
		if ValidPath(p) != want {
			t.Errorf("ValidPath(%q) = %v", p, !want)
		}
	}
}
