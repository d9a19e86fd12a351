package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server/cli"
	"gatehouse/server/datadir"
)

// TestRelease_VersionNamesTheBuild: `gatehouse version` names the version,
// the commit, the build date and the toolchain.
func TestRelease_VersionNamesTheBuild(t *testing.T) {
	t.Parallel()
	r := run(t, "", "version").expect(t, 0)
	for _, want := range []string{"gatehouse " + cli.Version + "\n", "\ncommit ", "\nbuilt ", runtime.Version()} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("version printed %q, missing %q", r.stdout, want)
		}
	}
}

// TestRelease_SecondServeRefused: a second server on one data directory
// is refused, naming the directory and the pid that holds it.
func TestRelease_SecondServeRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, dir)
	defer c.kill()
	r := run(t, "", "--data", dir, "serve", "--http", "127.0.0.1:0").expect(t, 1)
	want := "another instance is using " + dir + " (pid " + strconv.Itoa(c.cmd.Process.Pid) + ")"
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q, want %q", r.stderr, want)
	}
	// One-shot commands still work while the server runs.
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
}

// olderDatabase makes a SQLite database in dir at the schema before the
// newest migration, holding one account.
func olderDatabase(t *testing.T, dir string) {
	t.Helper()
	names := migrations.Names()
	ctx := context.Background()
	db, err := models.OpenSQLite(filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrations.RunThrough(ctx, db, names[len(names)-2]); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.ExecContext(ctx, `INSERT INTO users (public_id, username, username_lower, role, status, created_at, updated_at)
		VALUES ('u_old', 'old', 'old', 'user', 'active', ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
}

func backups(t *testing.T, dir, prefix string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "backups"))
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func usernames(t *testing.T, path string) string {
	t.Helper()
	db, err := models.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	if err := db.NewRaw("SELECT username FROM users ORDER BY username").Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, ",")
}

// TestRelease_BackupBeforeMigrations: migrate and serve back the database
// up before applying pending migrations, into backups/pre-<version>-<time>.db,
// say where, keep the last five, and take none when nothing is pending or
// the database is new.
func TestRelease_BackupBeforeMigrations(t *testing.T) {
	t.Parallel()
	fresh := t.TempDir()
	run(t, "", "--data", fresh, "migrate").expect(t, 0)
	if b := backups(t, fresh, "pre-"); len(b) != 0 {
		t.Fatalf("a new database was backed up: %v", b)
	}

	dir := t.TempDir()
	olderDatabase(t, dir)
	// Six old backups: one more than is kept.
	if err := os.MkdirAll(filepath.Join(dir, "backups"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		p := filepath.Join(dir, "backups", "pre-v0.0."+strconv.Itoa(i)+"-20260101T000000.000Z.db")
		if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Duration(10-i) * time.Hour)
		_ = os.Chtimes(p, old, old)
	}
	r := run(t, "", "--data", dir, "migrate").expect(t, 0)
	if !strings.Contains(r.stdout, "Applied 1 migration") {
		t.Fatalf("stdout %q", r.stdout)
	}
	got := backups(t, dir, "pre-"+cli.Version+"-")
	if len(got) != 1 {
		t.Fatalf("backups of this version: %v", got)
	}
	backup := filepath.Join(dir, "backups", got[0])
	if !strings.Contains(r.stderr, backup) {
		t.Fatalf("the log does not say where the backup is: %q", r.stderr)
	}
	if st, err := os.Stat(backup); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v %v", st, err)
	}
	if u := usernames(t, backup); u != "old" {
		t.Fatalf("backup holds %q", u)
	}
	all := backups(t, dir, "pre-")
	if len(all) != 5 {
		t.Fatalf("kept %d backups, want 5: %v", len(all), all)
	}
	for _, gone := range []string{"pre-v0.0.0-", "pre-v0.0.1-"} {
		if strings.Contains(strings.Join(all, " "), gone) {
			t.Fatalf("the oldest backups were kept: %v", all)
		}
	}
	// Up to date: no new backup.
	run(t, "", "--data", dir, "migrate").expect(t, 0)
	if n := len(backups(t, dir, "pre-"+cli.Version+"-")); n != 1 {
		t.Fatalf("a backup was taken with nothing pending (%d)", n)
	}

	// serve does the same.
	dir2 := t.TempDir()
	olderDatabase(t, dir2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb syncBuffer
	if code := cli.RunContext(ctx, []string{"--data", dir2, "serve", "--http", "127.0.0.1:0"}, strings.NewReader(""), &out, &errb, nil); code != 0 {
		t.Fatalf("serve: %d %s", code, errb.String())
	}
	if b := backups(t, dir2, "pre-"); len(b) != 1 || !strings.Contains(errb.String(), b[0]) {
		t.Fatalf("serve backups %v, log %q", b, errb.String())
	}
}

// fromTheFuture marks dir's database as migrated by Gatehouse v9.9.9.
func fromTheFuture(t *testing.T, path string) {
	t.Helper()
	db, err := models.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "INSERT INTO bun_migrations (name, group_id, migrated_at) VALUES ('20991231000001_from_the_future', 99, ?)", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Record(ctx, db, []string{"20991231000001_from_the_future"}, "v9.9.9"); err != nil {
		t.Fatal(err)
	}
}

// TestRelease_RefusesNewerDatabase: a binary started on a database that a
// newer version migrated refuses it, naming both versions, and changes
// nothing.
func TestRelease_RefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	fromTheFuture(t, filepath.Join(dir, "gatehouse.db"))
	for _, args := range [][]string{
		{"--data", dir, "migrate"},
		{"--data", dir, "serve", "--http", "127.0.0.1:0"},
		{"--data", dir, "admin", "unlock", "alice"},
	} {
		r := run(t, "", args...).expect(t, 1)
		for _, want := range []string{"Gatehouse v9.9.9", "this Gatehouse " + cli.Version, "20991231000001_from_the_future"} {
			if !strings.Contains(r.stderr, want) {
				t.Fatalf("%v: stderr %q lacks %q", args, r.stderr, want)
			}
		}
	}
	if b := backups(t, dir, ""); len(b) != 0 {
		t.Fatalf("a refused start wrote backups: %v", b)
	}
}

// TestRelease_Restore: restore checks the file, refuses while a server
// holds the data directory, keeps the replaced database, and the restored
// data is what the server then serves.
func TestRelease_Restore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, "", "--data", dir, "admin", "create", "--username", "alice", "--password", goodPassword).expect(t, 0)
	// A second factor sealed with this directory's key.
	svc := open(t, dir)
	alice := user(t, svc, "alice")
	sealed, err := svc.Box.Seal("JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DB.NewRaw("UPDATE users SET totp_secret = ? WHERE id = ?", sealed, alice.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.db")
	run(t, "", "--data", dir, "backup", good).expect(t, 0)
	run(t, "", "--data", dir, "admin", "create", "--username", "bob", "--password", goodPassword).expect(t, 0)

	// Refused while a server runs on the directory.
	c := startChild(t, dir)
	r := run(t, "", "--data", dir, "restore", good).expect(t, 1)
	if !strings.Contains(r.stderr, "another instance is using "+dir) {
		t.Fatalf("restore under a running server: %q", r.stderr)
	}
	c.kill()

	bad := func(name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Not a database; damaged; another key; from a newer version; not Gatehouse.
	damaged, _ := os.ReadFile(good)
	for i := 4096; i < len(damaged) && i < 4096*3; i++ {
		damaged[i] ^= 0x5a
	}
	otherKey := t.TempDir()
	run(t, "", "--data", otherKey, "admin", "create", "--username", "zed", "--password", goodPassword).expect(t, 0)
	osvc := open(t, otherKey)
	otherSealed, _ := osvc.Box.Seal("JBSWY3DPEHPK3PXP")
	if _, err := osvc.DB.NewRaw("UPDATE users SET totp_secret = ?", otherSealed).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.db")
	run(t, "", "--data", otherKey, "backup", otherFile).expect(t, 0)
	// The same from before fingerprints were recorded: its sealed
	// secrets must open with the key.
	otherOld := filepath.Join(t.TempDir(), "other-old.db")
	run(t, "", "--data", otherKey, "backup", otherOld).expect(t, 0)
	if odb, err := models.OpenSQLite(otherOld); err != nil {
		t.Fatal(err)
	} else {
		if _, err := odb.Exec("DELETE FROM secret_key"); err != nil {
			t.Fatal(err)
		}
		odb.Close()
	}
	future := filepath.Join(t.TempDir(), "future.db")
	run(t, "", "--data", dir, "backup", future).expect(t, 0)
	fromTheFuture(t, future)
	plain := filepath.Join(t.TempDir(), "plain.db")
	pdb, err := models.OpenSQLite(plain)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pdb.Exec("CREATE TABLE t (x INTEGER)")
	pdb.Close()
	for _, tc := range []struct{ file, want string }{
		{bad("text.db", "hello"), "not a SQLite database"},
		{bad("damaged.db", string(damaged)), "cannot be restored"},
		{otherFile, "is not the one this database uses"},
		{otherOld, "cannot decrypt"},
		{future, "Gatehouse v9.9.9"},
		{plain, "not a Gatehouse database"},
		{filepath.Join(t.TempDir(), "missing.db"), "not a file"},
	} {
		r := run(t, "", "--data", dir, "restore", tc.file)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("restore %s: exit %d, stderr %q, want %q", filepath.Base(tc.file), r.code, r.stderr, tc.want)
		}
	}
	if u := usernames(t, filepath.Join(dir, "gatehouse.db")); u != "alice,bob" {
		t.Fatalf("a refused restore changed the database: %q", u)
	}

	r = run(t, "", "--data", dir, "restore", good).expect(t, 0)
	kept := backups(t, dir, "before-restore-")
	if len(kept) != 1 || !strings.Contains(r.stdout, kept[0]) {
		t.Fatalf("kept %v; stdout %q", kept, r.stdout)
	}
	if u := usernames(t, filepath.Join(dir, "backups", kept[0])); u != "alice,bob" {
		t.Fatalf("the replaced database kept holds %q", u)
	}
	if u := usernames(t, filepath.Join(dir, "gatehouse.db")); u != "alice" {
		t.Fatalf("restored database holds %q", u)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.db.restoring")); !os.IsNotExist(err) {
		t.Fatalf("staged copy left behind: %v", err)
	}
	// The server starts on it.
	c = startChild(t, dir)
	c.kill()
}

// TestRelease_DesktopStartOpensTheBrowser: started with no command and no
// terminal, Gatehouse keeps its data in the per-user directory, says so on
// the first log line and opens the setup link; --open does the same from a
// terminal, and a terminal start without it opens nothing.
func TestRelease_DesktopStartOpensTheBrowser(t *testing.T) {
	t.Setenv("GATEHOUSE_HTTP", "127.0.0.1:0")
	t.Setenv("GATEHOUSE_DATA", "")
	os.Unsetenv("GATEHOUSE_DATA")
	xdg := t.TempDir()
	cwd := t.TempDir()
	inputs := datadir.Inputs{GOOS: "linux", Env: map[string]string{"XDG_DATA_HOME": xdg}, Home: t.TempDir(), Cwd: cwd, IsDir: func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	}}
	start := func(args []string, terminal bool) (opened []string, stderr string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // serve starts, prints and opens, then stops at once
		var out, errb syncBuffer
		host := cli.Host{GOOS: "linux", Terminal: terminal, Display: true, DataInputs: func() datadir.Inputs { return inputs },
			Open: func(u string) error { opened = append(opened, u); return nil }}
		if code := cli.RunHost(ctx, args, strings.NewReader(""), &out, &errb, nil, host); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return opened, errb.String()
	}
	opened, log := start(nil, false)
	want := filepath.Join(xdg, "gatehouse")
	first, _, _ := strings.Cut(log, "\n")
	if !strings.Contains(first, "data directory") || !strings.Contains(first, want) {
		t.Fatalf("first log line %q does not say the data is in %s", first, want)
	}
	if _, err := os.Stat(filepath.Join(want, "gatehouse.db")); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || !strings.Contains(opened[0], "/setup?token=") {
		t.Fatalf("opened %v", opened)
	}
	if opened, _ := start(nil, true); len(opened) != 0 {
		t.Fatalf("a terminal start opened %v", opened)
	}
	if opened, _ := start([]string{"serve", "--open"}, true); len(opened) != 1 {
		t.Fatalf("--open opened %v", opened)
	}
	// An existing ./gatehouse-data in the working directory wins.
	if err := os.Mkdir(filepath.Join(cwd, "gatehouse-data"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, log = start([]string{"serve"}, true)
	if first, _, _ := strings.Cut(log, "\n"); !strings.Contains(first, filepath.Join(cwd, "gatehouse-data")) {
		t.Fatalf("first log line %q", first)
	}
}

// TestRelease_BrowserCommand: the opener per platform.
func TestRelease_BrowserCommand(t *testing.T) {
	t.Parallel()
	for goos, want := range map[string]string{
		"linux":   "xdg-open http://x/",
		"freebsd": "xdg-open http://x/",
		"darwin":  "open http://x/",
		"windows": "rundll32 url.dll,FileProtocolHandler http://x/",
	} {
		if got := strings.Join(cli.BrowserCommand(goos, "http://x/"), " "); got != want {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
	for _, tc := range []struct {
		args []string
		host cli.Host
		want bool
	}{
		{[]string{"serve"}, cli.Host{GOOS: "linux", Display: true}, false},
		{nil, cli.Host{GOOS: "linux", Display: true}, true},
		{nil, cli.Host{GOOS: "linux", Display: true, Terminal: true}, false},
		{nil, cli.Host{GOOS: "linux"}, false}, // no graphical session
		{nil, cli.Host{GOOS: "darwin", Display: true, Terminal: true}, true},
		{nil, cli.Host{GOOS: "windows", Display: true, Terminal: true}, true},
		{[]string{"--data", "x"}, cli.Host{GOOS: "windows", Display: true, Terminal: true}, false},
	} {
		if got := cli.DesktopStart(tc.args, tc.host); got != tc.want {
			t.Errorf("DesktopStart(%v, %+v) = %v", tc.args, tc.host, got)
		}
	}
}

// TestRelease_Healthcheck: `gatehouse healthcheck` exits 0 while the
// server on --http is ready and 1 when nothing answers (the container's
// HEALTHCHECK, which has no curl).
func TestRelease_Healthcheck(t *testing.T) {
	t.Parallel()
	c := startChild(t, t.TempDir())
	defer c.kill()
	addr := strings.TrimPrefix(c.base, "http://")
	r := run(t, "", "healthcheck", "--http", addr).expect(t, 0)
	if !strings.Contains(r.stdout, "/api/ready") {
		t.Fatalf("stdout %q", r.stdout)
	}
	_, port, _ := strings.Cut(addr, ":")
	run(t, "", "healthcheck", "--http", "0.0.0.0:"+port).expect(t, 0) // the container listens on 0.0.0.0
	c.kill()
	run(t, "", "healthcheck", "--http", addr).expect(t, 1)
}

// TestRelease_SetupLinkOnEveryInterfaceNamesLocalhost: a server listening
// on every interface (a container's 0.0.0.0:8080, --http :8080) prints and
// opens a setup link on localhost and the bound port, not http://[::]:PORT
// or http://0.0.0.0:PORT, which name no host a browser can reach.
func TestRelease_SetupLinkOnEveryInterfaceNamesLocalhost(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb syncBuffer
		var opened []string
		host := cli.Host{GOOS: "linux", Terminal: true, Open: func(u string) error { opened = append(opened, u); return nil }}
		if code := cli.RunHost(ctx, []string{"--data", t.TempDir(), "serve", "--http", listen, "--open"}, strings.NewReader(""), &out, &errb, nil, host); code != 0 {
			if strings.Contains(errb.String(), "address family not supported") || strings.Contains(errb.String(), "cannot assign requested address") {
				continue // no IPv6 on this machine
			}
			t.Fatalf("%s: exit %d: %s", listen, code, errb.String())
		}
		m := regexp.MustCompile(`(http://\S+)/setup\?token=`).FindStringSubmatch(out.String())
		if m == nil || !regexp.MustCompile(`^http://localhost:[1-9][0-9]*$`).MatchString(m[1]) {
			t.Fatalf("%s: setup link base %v in %q, want http://localhost:PORT", listen, m, out.String())
		}
		if len(opened) != 1 || !strings.HasPrefix(opened[0], m[1]+"/setup?token=") {
			t.Fatalf("%s: opened %v", listen, opened)
		}
	}
}

// TestRelease_SecondDesktopStartOpensTheRunningConsole: the server writes
// its URL into the lock file; a second start on the same data directory
// from a file manager (or with --open) says another instance is using it,
// at which address, and opens that instance's console instead of leaving a
// window that closes on an error. A terminal start without --open only
// says so.
func TestRelease_SecondDesktopStartOpensTheRunningConsole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, dir)
	defer c.kill()
	second := func(args []string, terminal bool) (opened []string, stderr string) {
		var out, errb syncBuffer
		host := cli.Host{GOOS: "linux", Terminal: terminal, Display: true,
			DataInputs: func() datadir.Inputs { return datadir.Inputs{GOOS: "linux", Cwd: t.TempDir()} },
			Open:       func(u string) error { opened = append(opened, u); return nil }}
		cli.RunHost(context.Background(), args, strings.NewReader(""), &out, &errb, nil, host)
		return opened, errb.String()
	}
	opened, stderr := second([]string{"--data", dir, "serve", "--http", "127.0.0.1:0", "--open"}, true)
	if !strings.Contains(stderr, "another instance is using "+dir) || !strings.Contains(stderr, c.base) {
		t.Fatalf("stderr %q does not name the directory and %s", stderr, c.base)
	}
	if len(opened) != 1 || opened[0] != c.base+"/" {
		t.Fatalf("opened %v, want %s/", opened, c.base)
	}
	if opened, _ := second([]string{"--data", dir, "serve", "--http", "127.0.0.1:0"}, true); len(opened) != 0 {
		t.Fatalf("a terminal start without --open opened %v", opened)
	}
}

// TestRelease_WindowsDesktopFailureWaitsForEnter: a double-clicked binary
// on Windows runs in a console window that closes when it exits, so a
// desktop start that fails says why and waits for Enter; a start from a
// shell, or on other systems, exits at once.
func TestRelease_WindowsDesktopFailureWaitsForEnter(t *testing.T) {
	t.Setenv("GATEHOUSE_HTTP", "not an address")
	os.Unsetenv("GATEHOUSE_DATA")
	start := func(goos string, args []string) (stderr string, unread int) {
		in := strings.NewReader("\nmore\n")
		var out, errb syncBuffer
		host := cli.Host{GOOS: goos, Terminal: true, Display: true,
			DataInputs: func() datadir.Inputs { return datadir.Inputs{GOOS: goos, Cwd: t.TempDir()} },
			Open:       func(string) error { return nil }}
		if code := cli.RunHost(context.Background(), args, in, &out, &errb, nil, host); code == 0 {
			t.Fatalf("%s %v: exit 0 on a bad listen address", goos, args)
		}
		return errb.String(), in.Len()
	}
	stderr, unread := start("windows", nil)
	if !strings.Contains(stderr, "not an address") || !strings.Contains(stderr, "Press Enter to close this window") || unread != len("more\n") {
		t.Fatalf("windows desktop start: stderr %q, %d bytes unread", stderr, unread)
	}
	for _, tc := range []struct {
		goos string
		args []string
	}{{"windows", []string{"serve"}}, {"darwin", nil}} {
		if stderr, unread := start(tc.goos, tc.args); strings.Contains(stderr, "Press Enter") || unread != len("\nmore\n") {
			t.Fatalf("%s %v: stderr %q, %d bytes unread", tc.goos, tc.args, stderr, unread)
		}
	}
}
