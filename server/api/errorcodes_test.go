package api_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gatehouse/server/httpx"
	"gatehouse/server/problem"
	"gatehouse/server/testkit"
)

// sourceFiles parses every non-test Go file of the server and the models.
func sourceFiles(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, root := range []string{"..", "../../models"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return fset, files
}

func literal(e ast.Expr) (string, bool) {
	l, ok := e.(*ast.BasicLit)
	if !ok || l.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(l.Value)
	return s, err == nil
}

// messageVariants spells out an expression that builds a field message: a
// literal as it is, a call to a function that returns literals as each of
// them, any other value as "x" (a placeholder of the template).
func messageVariants(e ast.Expr, returns map[string][]string) ([]string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		s, ok := literal(x)
		return []string{s}, ok
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return nil, false
		}
		l, okl := messageVariants(x.X, returns)
		r, okr := messageVariants(x.Y, returns)
		if !okl && !okr {
			return nil, false
		}
		if !okl {
			l = []string{"x"}
		}
		if !okr {
			r = []string{"x"}
		}
		var out []string
		for _, a := range l {
			for _, b := range r {
				out = append(out, a+b)
			}
		}
		return out, true
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && len(returns[id.Name]) > 0 {
			return returns[id.Name], true
		}
	}
	return nil, false
}

// TestErrorCodes_EveryFieldMessageHasACode walks the source for every field
// message the server can write (Fields.Add, WithField, Fields literals, the
// messages of CheckPassword, ControlText and the JSON type names) and fails
// for one that has no stable code: the console could only show it in English.
func TestErrorCodes_EveryFieldMessageHasACode(t *testing.T) {
	fset, files := sourceFiles(t)
	// Functions whose string results become field messages.
	returns := map[string][]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !slices.Contains([]string{"CheckPassword", "ControlText", "jsonKind"}, fn.Name.Name) {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					if vs, ok := messageVariants(r.Results[0], nil); ok {
						for _, v := range vs {
							if v != "" {
								returns[fn.Name.Name] = append(returns[fn.Name.Name], v)
							}
						}
					}
				}
				return true
			})
		}
	}
	if len(returns["CheckPassword"]) < 5 || len(returns["ControlText"]) < 3 || len(returns["jsonKind"]) < 4 {
		t.Fatalf("the walk no longer finds the message functions: %v", returns)
	}
	type found struct{ msg, at string }
	var msgs []found
	add := func(e ast.Expr) {
		vs, ok := messageVariants(e, returns)
		if !ok {
			return // a variable: its values come from the functions above
		}
		for _, v := range vs {
			msgs = append(msgs, found{v, fset.Position(e.Pos()).String()})
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if ok && (sel.Sel.Name == "Add" || sel.Sel.Name == "WithField") && len(x.Args) == 2 {
					add(x.Args[1])
				}
			case *ast.CompositeLit:
				if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Fields" {
					for _, e := range x.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							add(kv.Value)
						}
					}
				}
			case *ast.AssignStmt:
				// e.Fields = map[string]string{...}
				if sel, ok := x.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Fields" && len(x.Rhs) == 1 {
					if cl, ok := x.Rhs[0].(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok {
								add(kv.Value)
							}
						}
					}
				}
			case *ast.ValueSpec:
				for i, name := range x.Names {
					if strings.HasPrefix(name.Name, "MsgPassword") && i < len(x.Values) {
						add(x.Values[i])
					}
				}
			}
			return true
		})
	}
	for fn, vs := range returns {
		if fn == "jsonKind" {
			continue // only a part of a message
		}
		for _, v := range vs {
			msgs = append(msgs, found{v, "a message function"})
		}
	}
	if len(msgs) < 100 {
		t.Fatalf("the walk found only %d field messages", len(msgs))
	}
	for _, m := range msgs {
		if _, ok := problem.DescribeField(m.msg); !ok {
			t.Errorf("%s: field message %q has no code (add a template to server/problem/codes.go)", m.at, m.msg)
		}
	}
}

// openAPIEnum reads the enum of a schema of the OpenAPI document (the
// openapi.json that npm run gen:api makes from openapi.yaml).
func openAPIEnum(t *testing.T, schema string) []string {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas[schema].Enum
}

// TestErrorCodes_EveryCodeIsDocumented: the ErrorCode enum of the OpenAPI
// document is exactly the set of codes the source can answer, and the
// FieldErrorCode enum exactly the codes of the field templates (the
// console's translations are checked against the same lists by
// errorCodes.spec.ts). Every answer of every API test is validated against
// these enums as well.
func TestErrorCodes_EveryCodeIsDocumented(t *testing.T) {
	_, files := sourceFiles(t)
	used := map[string]bool{"validation_failed": true, "cross_origin_refused": true}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" && len(x.Args) == 3 {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "problem" {
						if s, ok := literal(x.Args[1]); ok {
							used[s] = true
						} else {
							t.Errorf("problem.New with a code that is not a literal")
						}
					}
				}
			case *ast.CompositeLit:
				if sel, ok := x.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "problem" {
						for _, e := range x.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Code" {
								if s, ok := literal(kv.Value); ok {
									used[s] = true
								}
							}
						}
					}
				}
			}
			return true
		})
	}
	var codes []string
	for c := range used {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	documented := openAPIEnum(t, "ErrorCode")
	for _, c := range codes {
		if !slices.Contains(documented, c) {
			t.Errorf("error code %q is answered but not in the ErrorCode enum of openapi.yaml", c)
		}
	}
	for _, c := range documented {
		if !used[c] {
			t.Errorf("ErrorCode %q is documented but never answered", c)
		}
	}
	fieldDocumented := openAPIEnum(t, "FieldErrorCode")
	if !slices.Equal(fieldDocumented, problem.FieldCodes()) {
		t.Errorf("FieldErrorCode enum of openapi.yaml\n%v\ndiffers from the codes of server/problem/codes.go\n%v", fieldDocumented, problem.FieldCodes())
	}
}

// TestErrorCodes_AnswersCarryCodesAndParams walks validation paths through
// the router: every field error comes with its code and parameters beside
// the English message, and the parameters are the values the message names.
func TestErrorCodes_AnswersCarryCodesAndParams(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	alice := app.CreateUser(testkit.UserSpec{Username: "alice", Email: "alice@example.com"})
	c := app.LoginAs(alice)
	type fieldErr struct {
		Code   string         `json:"code"`
		Params map[string]any `json:"params"`
	}
	var body struct {
		Error struct {
			Code        string              `json:"code"`
			Message     string              `json:"message"`
			Params      map[string]any      `json:"params"`
			Fields      map[string]string   `json:"fields"`
			FieldErrors map[string]fieldErr `json:"fieldErrors"`
		} `json:"error"`
	}
	check := func(r *testkit.Response, field, code string, params map[string]any) {
		t.Helper()
		body.Error.FieldErrors, body.Error.Fields, body.Error.Params = nil, nil, nil
		r.JSON(&body)
		if len(body.Error.FieldErrors) != len(body.Error.Fields) {
			t.Errorf("fields %v but fieldErrors %v", body.Error.Fields, body.Error.FieldErrors)
		}
		got := body.Error.FieldErrors[field]
		if got.Code != code {
			t.Errorf("%s: code %q (message %q), want %q", field, got.Code, body.Error.Fields[field], code)
		}
		for k, v := range params {
			if got.Params[k] != v {
				t.Errorf("%s: params %v, want %s=%v", field, got.Params, k, v)
			}
		}
	}
	check(c.POST("/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": "password123"}).Expect(http.StatusUnprocessableEntity),
		"newPassword", "password_common", nil)
	check(c.POST("/api/me/password", map[string]string{"currentPassword": alice.Password, "newPassword": "short"}).Expect(http.StatusUnprocessableEntity),
		"newPassword", "too_short", map[string]any{"min": float64(10)})
	check(app.Client().POST("/api/auth/login", map[string]string{}).Expect(http.StatusUnprocessableEntity), "identifier", "required", nil)
	check(c.PATCH("/api/me", map[string]any{"timezone": "Mars/Olympus"}).Expect(http.StatusUnprocessableEntity), "timezone", "invalid_timezone", nil)
	check(c.PATCH("/api/me", map[string]any{"displayName": 7}).Expect(http.StatusBadRequest), "displayName", "must_be_string", nil)
	check(c.PATCH("/api/me", map[string]any{"nope": 1}).Expect(http.StatusBadRequest), "nope", "unknown_field", nil)
	adm := app.LoginAs(app.Admin("ada"))
	check(adm.GET("/api/admin/users?perPage=5000").Expect(http.StatusBadRequest), "perPage", "whole_number_range", map[string]any{"min": float64(1), "max": float64(httpx.MaxPerPage)})
	check(adm.GET("/api/admin/users?role=emperor").Expect(http.StatusBadRequest), "role", "one_of", map[string]any{"values": "user, admin or super_admin"})
	if body.Error.Code != "invalid_query" {
		t.Errorf("code %q", body.Error.Code)
	}
}

// TestErrorCodes_EveryErrorMessageIsASentence walks the source for the
// English message of every error (problem.New and problem.Error literals):
// an API client without the console shows it alone, so it starts with a
// capital letter (or a digit) and, when written whole, ends with a full
// stop, question or exclamation mark.
func TestErrorCodes_EveryErrorMessageIsASentence(t *testing.T) {
	fset, files := sourceFiles(t)
	checked := 0
	check := func(e ast.Expr) {
		whole := true
		for {
			b, ok := e.(*ast.BinaryExpr)
			if !ok || b.Op != token.ADD {
				break
			}
			e, whole = b.X, false
		}
		s, ok := literal(e)
		if !ok || s == "" {
			return
		}
		checked++
		r := []rune(s)[0]
		if !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') {
			t.Errorf("%s: %q does not start a sentence", fset.Position(e.Pos()), s)
		}
		if whole && !strings.ContainsAny(s[len(s)-1:], ".!?") {
			t.Errorf("%s: %q does not end a sentence", fset.Position(e.Pos()), s)
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "New" && len(x.Args) == 3 {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "problem" {
						check(x.Args[2])
					}
				}
			case *ast.CompositeLit:
				sel, ok := x.Type.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Error" {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "problem" {
					return true
				}
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
							check(kv.Value)
						}
					}
				}
			}
			return true
		})
	}
	if checked < 50 {
		t.Fatalf("only %d error messages found: the walk misses them", checked)
	}
}
