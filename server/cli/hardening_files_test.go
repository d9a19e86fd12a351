package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestHardening_DataFilesArePrivate: a data directory made 0755 with a
// 0644 database, WAL and SHM (an older install, or a careless cp) is
// narrowed to 0700 and 0600 at start, and says so; new files are 0600.
func TestHardening_DataFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	// A fresh database is created private.
	r := run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	if !strings.Contains(r.stderr, "0700") {
		t.Fatalf("the narrowed data directory was not logged: %q", r.stderr)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("data directory %v", m)
	}
	db := filepath.Join(dir, "gatehouse.db")
	if m := mode(t, db); m != 0o600 {
		t.Fatalf("new database %v", m)
	}
	// A server holds it open, so the WAL and SHM exist while it runs.
	svc := open(t, dir)
	_ = user(t, svc, "alice")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if m := mode(t, f); m != 0o600 {
			t.Fatalf("%s: %v", filepath.Base(f), m)
		}
	}
	// Someone loosens everything; the next start narrows it again.
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--data", dir, "admin", "unlock", "alice").expect(t, 0)
	for _, want := range []string{"0700", "gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("log does not name %s: %q", want, r.stderr)
		}
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("data directory %v", m)
	}
	for _, f := range []string{db, db + "-wal", db + "-shm", filepath.Join(dir, "secret.key")} {
		if m := mode(t, f); m != 0o600 {
			t.Fatalf("%s: %v", filepath.Base(f), m)
		}
	}
	// Nothing to narrow: nothing logged.
	r = run(t, "", "--data", dir, "admin", "unlock", "alice").expect(t, 0)
	if strings.Contains(r.stderr, "0700") || strings.Contains(r.stderr, "0600") {
		t.Fatalf("logged without a change: %q", r.stderr)
	}
	// Backups are private too, whatever the umask would give.
	out := filepath.Join(t.TempDir(), "backup.db")
	run(t, "", "--data", dir, "backup", out).expect(t, 0)
	if m := mode(t, out); m != 0o600 {
		t.Fatalf("backup %v", m)
	}
}
