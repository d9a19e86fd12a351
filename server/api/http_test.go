package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gatehouse/internal/openapidoc"
	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

func TestHealthReadyAndDocument(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	for _, p := range []string{"/api/health", "/api/ready"} {
		if m := c.GET(p).Expect(http.StatusOK).Map(); m["status"] != "ok" {
			t.Errorf("%s: %v", p, m)
		}
	}
	r := c.GET("/api/openapi.json").Expect(http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("openapi.json content type %q", ct)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
		Info    struct{ Version string }  `json:"info"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) == 0 || doc.Paths["/api/auth/login"]["post"] == nil {
		t.Fatalf("openapi.json lacks paths: %.300s", r.Body)
	}
	if doc.Info.Version != "test" {
		t.Fatalf("document version %q, want the build version", doc.Info.Version)
	}
}

func TestReadyFailsWithoutDatabase(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	app.Server.DB.Close()
	r := app.Client().GET("/api/ready")
	expectError(t, r, http.StatusServiceUnavailable, "database_unavailable")
	app.Client().GET("/api/health").Expect(http.StatusOK)
}

func TestUnknownAPIPathIsJSON404(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/nope"}, {"GET", "/api"}, {"GET", "/api/"}, {"GET", "/api/me/nope"},
		{"POST", "/api/nope"}, {"DELETE", "/api/admin/nope"}, {"GET", "/api/auth/login"},
		{"GET", "/api/assets/app-abc1.js"},
	} {
		r := c.Do(req.method, req.path, nil)
		expectError(t, r, http.StatusNotFound, "not_found")
		if strings.Contains(string(r.Body), "<!doctype") {
			t.Errorf("%s %s answered the console", req.method, req.path)
		}
	}
}

func TestOtherPathsServeTheConsole(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	for _, p := range []string{"/", "/index.html", "/login", "/account/profile", "/admin/users/abc?x=1", "/setup?token=abc", "/apis", "/assetsfoo"} {
		r := c.GET(p).Expect(http.StatusOK)
		if string(r.Body) != testkit.ConsoleIndex {
			t.Errorf("%s: body %q, want the console index", p, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: content type %q", p, ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache so a new release is picked up", p, cc)
		}
	}
	// Unsafe methods on console paths are not the console.
	expectError(t, c.POST("/login", map[string]string{}), http.StatusNotFound, "not_found")
}

func TestAssets(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	r := c.GET("/assets/app-abc1.js").Expect(http.StatusOK)
	if string(r.Body) != "console.log(1)" {
		t.Fatalf("asset body %q", r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Fatalf("hashed asset Cache-Control %q", cc)
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Fatalf("asset content type %q", ct)
	}
	// A missing asset is a 404, never index.html (a stale tab would run HTML as JS).
	for _, p := range []string{"/assets/app-gone.js", "/assets/x/y.css"} {
		if r := c.GET(p); r.Status != http.StatusNotFound || string(r.Body) == testkit.ConsoleIndex {
			t.Errorf("%s: %d %q, want 404", p, r.Status, r.Body)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	for _, r := range []*testkit.Response{
		c.GET("/api/health"), c.GET("/"), c.GET("/assets/app-abc1.js"), c.GET("/api/nope"),
		c.GET("/api/me"), c.POST("/api/auth/login", creds("nobody", "whatever-pass")),
	} {
		p := r.Req.URL.Path
		csp := r.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, d)
			}
		}
		if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval scripts: %q", p, csp)
		}
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", p, k, got, v)
			}
		}
		if strings.HasPrefix(p, "/api/") && r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: API answer Cache-Control %q, want no-store", p, r.Header.Get("Cache-Control"))
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", p)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS header on a same-origin API", p)
		}
	}
	https := testkit.NewApp(t, testkit.WithBaseURL("https://gatehouse.test"))
	if h := https.Client().GET("/api/health").Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("HTTPS base URL: HSTS %q", h)
	}
}

func TestNoCredentialedCORSForForeignOrigins(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.Member("alice")
	c := app.LoginAs(alice)
	r := c.GET("/api/me", "Origin", "http://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("CORS headers for a foreign origin: %v", r.Header)
	}
	c.SkipSpec = true
	pre := c.Do("OPTIONS", "/api/me", nil, "Origin", "http://evil.example", "Access-Control-Request-Method", "PATCH")
	if pre.Header.Get("Access-Control-Allow-Origin") != "" || pre.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight allowed a foreign origin: %d %v", pre.Status, pre.Header)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	c := app.Client()
	for _, p := range []string{"/api/health", "/api/nope", "/"} {
		if got := c.GET(p, "X-Request-ID", "req-123.abc_X").Header.Get("X-Request-ID"); got != "req-123.abc_X" {
			t.Errorf("%s: X-Request-ID %q not echoed", p, got)
		}
	}
	gen := regexp.MustCompile(`^[0-9a-f]{16}$`)
	a := c.GET("/api/health").Header.Get("X-Request-ID")
	b := c.GET("/api/health").Header.Get("X-Request-ID")
	if !gen.MatchString(a) || a == b {
		t.Fatalf("generated request IDs %q, %q", a, b)
	}
	// Unsafe IDs (log injection, huge values) are replaced, not echoed.
	for _, bad := range []string{"a b", "x\"y", strings.Repeat("a", 65), "<script>", "id;rm"} {
		got := c.GET("/api/health", "X-Request-ID", bad).Header.Get("X-Request-ID")
		if got == bad || !gen.MatchString(got) {
			t.Errorf("unsafe request ID %q answered as %q", bad, got)
		}
	}
}

// TestRoutesMatchOpenAPI compares the router with the document both ways:
// every route is documented, every documented operation is routed.
func TestRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	routed := map[string]bool{}
	for _, r := range app.Server.Routes() {
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	if len(routed) < 10 || len(documented) < 10 {
		t.Fatalf("too few routes (%d) or operations (%d): the comparison is broken", len(routed), len(documented))
	}
	var missingDoc, missingRoute []string
	for k := range routed {
		if !documented[k] {
			missingDoc = append(missingDoc, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			missingRoute = append(missingRoute, k)
		}
	}
	sort.Strings(missingDoc)
	sort.Strings(missingRoute)
	if len(missingDoc) > 0 {
		t.Errorf("routes missing from openapi.yaml:\n  %s", strings.Join(missingDoc, "\n  "))
	}
	if len(missingRoute) > 0 {
		t.Errorf("operations in openapi.yaml without a route:\n  %s", strings.Join(missingRoute, "\n  "))
	}
}

// TestOpenAPIOperationsAreComplete checks what the client generator relies
// on: an operationId on every operation, unique, and a 401 answer wherever
// the route needs a signed-in caller.
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	t.Parallel()
	doc, err := openapidoc.Load(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s used by %s and %s", op.OperationID, prev, where)
			}
			ids[op.OperationID] = where
			if strings.HasPrefix(path, "/api/me") || strings.HasPrefix(path, "/api/admin/") {
				if op.Responses.Value("401") == nil {
					t.Errorf("%s needs a signed-in caller but documents no 401", where)
				}
			}
			if strings.HasPrefix(path, "/api/admin/") && op.Responses.Value("403") == nil {
				t.Errorf("%s is for administrators but documents no 403", where)
			}
		}
	}
}

// TestOpenAPIJSONIsCurrent: the served JSON is generated from openapi.yaml
// at build time; a YAML edit without `go generate ./server/api` fails here.
func TestOpenAPIJSONIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := openapidoc.JSON(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(api.OpenAPIJSON, want) {
		t.Fatal("server/api/openapi.json is not the conversion of openapi.yaml: run go generate ./server/api")
	}
}
