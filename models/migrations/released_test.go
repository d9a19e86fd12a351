package migrations_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// released.sum lists the migration files that were released, with their
// SHA-256. A released migration has run on somebody's database: editing it
// changes nothing there and splits the schema between installs, so the
// change belongs in a new migration. New files are not listed until
// `make freeze-migrations` (part of cutting a release) adds them; only the
// listed files are frozen.
const manifest = "released.sum"

var migrationFile = regexp.MustCompile(`^\d{14}_[a-z0-9_]+\.go$`)

// sum hashes a migration file with line endings made "\n", so that a
// checkout that converts them does not count as an edit.
func sum(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	return hex.EncodeToString(h[:])
}

// TestRelease_ReleasedMigrationsUnchanged fails when a migration file
// listed in released.sum was edited, renamed or removed. With
// GATEHOUSE_FREEZE_MIGRATIONS=1 it adds the unlisted migration files to
// the list instead (make freeze-migrations); listed lines are never
// rewritten.
func TestRelease_ReleasedMigrationsUnchanged(t *testing.T) {
	data, err := os.ReadFile(manifest)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		hash, name, ok := strings.Cut(line, "  ")
		if !ok || len(hash) != 64 {
			t.Fatalf("%s line %d is not '<sha256>  <file>': %q", manifest, i+1, line)
		}
		listed[name] = hash
	}
	for name, hash := range listed {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("released migration %s is gone: a released migration is never removed or renamed", name)
			continue
		}
		if got := sum(t, name); got != hash {
			t.Errorf("released migration %s was edited (sha256 %s, released as %s): put the change in a new migration and restore the file", name, got, hash)
		}
	}
	if os.Getenv("GATEHOUSE_FREEZE_MIGRATIONS") != "1" {
		if len(listed) == 0 {
			t.Errorf("%s lists no migration", manifest)
		}
		return
	}
	files, _ := filepath.Glob("*.go")
	sort.Strings(files)
	var add strings.Builder
	for _, f := range files {
		if migrationFile.MatchString(f) && listed[f] == "" {
			fmt.Fprintf(&add, "%s  %s\n", sum(t, f), f)
		}
	}
	if add.Len() == 0 {
		return
	}
	out := string(data)
	if out == "" {
		out = "# Released migrations: sha256 and file. Never edit a listed file; add a new migration.\n# make freeze-migrations appends the files of a release.\n"
	}
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	if err := os.WriteFile(manifest, []byte(out+add.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("froze:\n%s", add.String())
}
