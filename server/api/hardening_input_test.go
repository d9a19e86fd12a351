package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"gatehouse/internal/openapidoc"
	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

// jsonOperation is one documented operation with a JSON body, its URL
// filled in for a test account, and the JSON paths of its string fields.
type jsonOperation struct {
	method, url string
	strings     []string
}

// stringPaths lists the dotted paths of the string fields of a schema
// (arrays of strings by the array's path), down to depth levels.
func stringPaths(s *openapi3.Schema, prefix string, depth int, out *[]string) {
	if s == nil || depth < 0 {
		return
	}
	for _, sub := range append(append([]*openapi3.SchemaRef{}, s.AllOf...), append(s.OneOf, s.AnyOf...)...) {
		if sub != nil {
			stringPaths(sub.Value, prefix, depth, out)
		}
	}
	switch {
	case s.Type.Is("string") && s.Format == "date-time":
		// Decoded into time.Time: a bad one is a 400 invalid_json without a
		// field name, checked only for not being a 500.
		*out = append(*out, prefix+"#time")
	case s.Type.Is("string") && prefix != "":
		*out = append(*out, prefix)
	case s.Type.Is("array") && s.Items != nil && s.Items.Value != nil && s.Items.Value.Type.Is("string"):
		*out = append(*out, prefix)
	}
	for name, p := range s.Properties {
		if p == nil {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		stringPaths(p.Value, path, depth-1, out)
	}
}

// jsonOperations walks the OpenAPI document for every routed operation
// with a JSON body.
func jsonOperations(t testing.TB, app *testkit.App, publicID string) []jsonOperation {
	t.Helper()
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	for _, r := range app.Server.Routes() {
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	fill := regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
	var ops []jsonOperation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || !routed[method+" "+path] {
				continue
			}
			url := fill.ReplaceAllStringFunc(path, func(p string) string {
				switch p {
				case "{publicId}":
					return publicID
				case "{group}":
					return "email"
				}
				return "1"
			})
			o := jsonOperation{method: method, url: url}
			if mt.Schema != nil {
				stringPaths(mt.Schema.Value, "", 3, &o.strings)
			}
			sort.Strings(o.strings)
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].method+ops[i].url < ops[j].method+ops[j].url })
	return ops
}

// bodyWith is a JSON object holding v at the dotted path.
func bodyWith(path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	body := map[string]any{}
	m := body
	for _, p := range parts[:len(parts)-1] {
		next := map[string]any{}
		m[p] = next
		m = next
	}
	m[parts[len(parts)-1]] = v
	return body
}

// TestHardening_ControlCharactersAreFieldErrors: a NUL byte or another
// control character in any string field of any JSON body is a 422 that
// names the field, never a 500 (PostgreSQL refuses NUL in text) and never
// stored. Only reasons may hold line breaks and tabs.
func TestHardening_ControlCharactersAreFieldErrors(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	bob := app.Member("bob")
	c := app.LoginAs(root)
	anon := app.Client()
	ops := jsonOperations(t, app, bob.PublicID)
	before := snapshot(t, app)
	checked := 0
	for _, op := range ops {
		for _, path := range op.strings {
			for _, bad := range []string{"a\x00b", "\x00", "a\x07b", "x\x1by", "del\x7f", "c1\u0085"} {
				path, isTime := strings.CutSuffix(path, "#time")
				var v any = bad
				if strings.HasSuffix(path, "publicIds") || strings.HasSuffix(path, "scopes") || strings.HasSuffix(path, "allowedDomains") || strings.HasSuffix(path, "ids") {
					v = []string{bad}
				}
				for _, cl := range []*testkit.Client{c, anon} {
					r := cl.Do(op.method, op.url, bodyWith(path, v))
					if r.Status >= 500 {
						t.Errorf("%s %s %s=%q: status %d %.300s", op.method, op.url, path, bad, r.Status, r.Body)
						continue
					}
					if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
						continue // not this client's to call
					}
					checked++
					var e struct {
						Error struct {
							Code   string            `json:"code"`
							Fields map[string]string `json:"fields"`
						} `json:"error"`
					}
					_ = json.Unmarshal(r.Body, &e)
					if isTime && r.Status == http.StatusBadRequest {
						continue
					}
					// 422 for a control character; 400 when the field is
					// not one this body takes (settings groups share a
					// document schema) — either way naming the field.
					if (r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest) || e.Error.Fields[path] == "" {
						t.Errorf("%s %s %s=%q: %d %s fields %v, want a field error naming %s", op.method, op.url, path, bad, r.Status, e.Error.Code, e.Error.Fields, path)
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d checks ran: the walk is broken", checked)
	}
	if after := snapshot(t, app); after != before {
		t.Fatalf("control characters were stored:\nbefore %s\nafter  %s", before, after)
	}
	// The named endpoints of the report.
	for p, body := range map[string]map[string]any{
		"/api/auth/login":               {"identifier": "a\x00", "password": "x\x00"},
		"/api/auth/forgot-password":     {"email": "a\x00@example.com"},
		"/api/auth/resend-verification": {"email": "a\x00@example.com"},
	} {
		r := anon.POST(p, body)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	// A reason may span lines; it still may not hold a NUL.
	c.POST("/api/admin/users/"+bob.PublicID+"/status", map[string]any{"status": "suspended", "reason": "line one\nline two\tend"}).Expect(200)
	r := c.POST("/api/admin/users/"+bob.PublicID+"/status", map[string]any{"status": "active", "reason": "a\x00"})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reason with NUL: %d", r.Status)
	}
	// Anything else may not hold a line break either.
	if r := c.PATCH("/api/admin/users/"+bob.PublicID, map[string]any{"displayName": "two\nlines"}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("display name with a newline: %d", r.Status)
	}
}
