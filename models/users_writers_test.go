package models_test

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// usersSQL matches hand-written SQL that writes the users table.
var usersSQL = regexp.MustCompile(`(?i)\b(update|insert\s+(or\s+\w+\s+)?into|delete\s+from)\s+["` + "`" + `]?users\b`)

// TestUsersTableWritesLiveInModels: no Go package outside models writes
// the users table itself — no UPDATE/INSERT/DELETE on users in a string,
// and no bun NewUpdate/NewInsert/NewDelete whose model is a models.User
// (or a slice of them) or whose table is users. Those writes are named
// functions in models (user_write.go, user_account.go), next to the
// triggers they feed (users_table.go). The packages are type-checked, so
// a model passed as a variable is caught as well as (*models.User)(nil).
// Test files (fixtures) are not checked.
func TestUsersTableWritesLiveInModels(t *testing.T) {
	root := moduleRoot(t)
	exports := goList(t, root, "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", "./...")
	export := map[string]string{}
	for _, line := range exports {
		if path, file, ok := strings.Cut(line, "\t"); ok && file != "" {
			export[path] = file
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := export[path]
		if !ok {
			return nil, os.ErrNotExist
		}
		return os.Open(file)
	})
	pkgs := goList(t, root, "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}", "./...")
	checked := 0
	for _, line := range pkgs {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 3 || parts[2] == "" {
			continue
		}
		path, dir := parts[0], parts[1]
		if path == "gatehouse/models" || strings.HasPrefix(path, "gatehouse/models/") {
			continue
		}
		var files []*ast.File
		for _, name := range strings.Fields(parts[2]) {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
		conf := types.Config{Importer: imp.(types.ImporterFrom), Error: func(error) {}}
		if _, err := conf.Check(path, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", path, err)
		}
		checked++
		for _, f := range files {
			for _, bad := range usersWrites(f, info) {
				rel, _ := filepath.Rel(root, fset.Position(bad.pos).Filename)
				t.Errorf("%s:%d writes the users table outside models (%s); add or use a named function in models/user_write.go or models/user_account.go", rel, fset.Position(bad.pos).Line, bad.what)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked; go list found %d", checked, len(pkgs))
	}
}

type usersWrite struct {
	pos  token.Pos
	what string
}

// usersWrites finds the users-table writes in f.
func usersWrites(f *ast.File, info *types.Info) []usersWrite {
	var out []usersWrite
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil && usersSQL.MatchString(s) {
					out = append(out, usersWrite{n.Pos(), "SQL " + strconv.Quote(usersSQL.FindString(s))})
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) == 0 {
				return true
			}
			kind := writeQueryOf(sel.X)
			if kind == "" {
				return true
			}
			switch sel.Sel.Name {
			case "Model":
				if isUserModel(info.TypeOf(n.Args[0])) {
					out = append(out, usersWrite{n.Pos(), kind + "().Model(" + types.ExprString(n.Args[0]) + ")"})
				}
			case "Table", "TableExpr", "ModelTableExpr":
				if lit, ok := n.Args[0].(*ast.BasicLit); ok {
					if s, err := strconv.Unquote(lit.Value); err == nil && regexp.MustCompile(`^\s*"?users\b`).MatchString(s) {
						out = append(out, usersWrite{n.Pos(), kind + "()." + sel.Sel.Name + "(" + lit.Value + ")"})
					}
				}
			}
		}
		return true
	})
	return out
}

// writeQueryOf reports the bun write query (NewUpdate, NewInsert,
// NewDelete, NewMerge) a method chain starts from, or "".
func writeQueryOf(x ast.Expr) string {
	for {
		call, ok := x.(*ast.CallExpr)
		if !ok {
			return ""
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return ""
		}
		switch sel.Sel.Name {
		case "NewUpdate", "NewInsert", "NewDelete", "NewMerge":
			return sel.Sel.Name
		}
		x = sel.X
	}
}

// isUserModel reports whether t is models.User behind pointers and slices.
func isUserModel(t types.Type) bool {
	for t != nil {
		switch u := t.(type) {
		case *types.Pointer:
			t = u.Elem()
		case *types.Slice:
			t = u.Elem()
		case *types.Named:
			obj := u.Obj()
			return obj.Pkg() != nil && obj.Pkg().Path() == "gatehouse/models" && obj.Name() == "User"
		default:
			return false
		}
	}
	return false
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// goList runs go list in root with the build tags of the tests and
// returns its lines.
func goList(t *testing.T, root string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-tags", "nomsgpack"}, args...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
