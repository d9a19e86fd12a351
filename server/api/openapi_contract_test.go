package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"gatehouse/internal/openapidoc"
	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

// TestOpenAPI_SecurityDeclared: the document declares its security schemes
// and every operation says which apply (Redocly's security-defined rule),
// and the declaration is true: an anonymous request answers 401 exactly
// where the operation does not allow anonymous callers.
func TestOpenAPI_SecurityDeclared(t *testing.T) {
	t.Parallel()
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	schemes := map[string]bool{}
	if doc.Components != nil {
		for name := range doc.Components.SecuritySchemes {
			schemes[name] = true
		}
	}
	for _, want := range []string{"sessionCookie", "bearerAccessToken", "serviceApiKey", "mfaChallengeCookie"} {
		if !schemes[want] {
			t.Errorf("security scheme %s is not declared", want)
		}
	}
	app := testkit.NewApp(t)
	anon := app.Client()
	anon.SkipSpec = true
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			sec := op.Security
			if sec == nil {
				sec = &doc.Security
			}
			if len(*sec) == 0 && op.Security == nil {
				t.Errorf("%s: no security declared (neither its own nor the document's)", where)
				continue
			}
			anonymous := len(*sec) == 0
			for _, req := range *sec {
				if len(req) == 0 {
					anonymous = true
				}
				for name := range req {
					if !schemes[name] {
						t.Errorf("%s: undeclared security scheme %s", where, name)
					}
				}
			}
			var body any
			if method != http.MethodGet && method != http.MethodDelete {
				body = map[string]any{}
				// Well-formed input, so that only the credential is missing.
				if b, ok := wellFormed[path]; ok {
					body = b
				}
			}
			res := anon.Do(method, param.ReplaceAllString(path, "x"), body)
			switch {
			case anonymous && res.Status == http.StatusUnauthorized:
				t.Errorf("%s allows anonymous callers but answers them 401", where)
			case !anonymous && res.Status != http.StatusUnauthorized && !(parsesFirst[path] && res.Status == http.StatusUnprocessableEntity):
				t.Errorf("%s needs %s but answers an anonymous caller %d", where, describeSecurity(*sec), res.Status)
			}
			if !anonymous && op.Responses.Value("401") == nil {
				t.Errorf("%s needs a credential but documents no 401", where)
			}
		}
	}
}

// wellFormed bodies for operations that check their input before the
// credential.
var wellFormed = map[string]any{
	"/api/auth/mfa": map[string]any{"code": "123456"},
}

// parsesFirst: operations that parse a WebAuthn answer before they look
// for the credential; an anonymous caller's made-up answer gets 422.
var parsesFirst = map[string]bool{"/api/auth/mfa/passkey": true}

func describeSecurity(sec openapi3.SecurityRequirements) string {
	var names []string
	for _, req := range sec {
		for name := range req {
			names = append(names, name)
		}
	}
	return strings.Join(names, " or ")
}
