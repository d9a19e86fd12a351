package api_test

import (
	"go/ast"
	"slices"
	"sort"
	"strings"
	"testing"
)

// auditActionsInSource walks the server and models for every audit action
// the code can write: the values of constants named Action*, and the string
// literals given as Action of an AuditEntry.
func auditActionsInSource(t *testing.T) []string {
	t.Helper()
	_, files := sourceFiles(t)
	found := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ValueSpec:
				for i, name := range x.Names {
					if strings.HasPrefix(name.Name, "Action") && i < len(x.Values) {
						if s, ok := literal(x.Values[i]); ok && strings.Contains(s, ".") {
							found[s] = true
						}
					}
				}
			case *ast.CompositeLit:
				id, ok := x.Type.(*ast.Ident)
				if !ok || id.Name != "AuditEntry" {
					return true
				}
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Action" {
						if s, ok := literal(kv.Value); ok {
							found[s] = true
						}
					}
				}
			}
			return true
		})
	}
	out := make([]string, 0, len(found))
	for a := range found {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// TestAuditActions_EveryActionIsDocumented: the AuditAction enum of the
// OpenAPI document is exactly the set of actions the source can write, so
// that the console's action picker offers every one with a readable name
// (auditActions.spec.ts checks each has one in English and Chinese), and
// every audit event an API test reads is checked against it.
func TestAuditActions_EveryActionIsDocumented(t *testing.T) {
	actions := auditActionsInSource(t)
	if len(actions) < 60 {
		t.Fatalf("the walk found only %d audit actions: %v", len(actions), actions)
	}
	documented := openAPIEnum(t, "AuditAction")
	for _, a := range actions {
		if !slices.Contains(documented, a) {
			t.Errorf("audit action %q is written but not in the AuditAction enum of openapi.yaml (add it there and a name in frontend/src/features/admin/audit/actions.ts)", a)
		}
	}
	for _, a := range documented {
		if !slices.Contains(actions, a) {
			t.Errorf("AuditAction %q is documented but never written", a)
		}
	}
}
