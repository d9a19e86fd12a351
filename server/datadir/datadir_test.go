package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gatehouse/server/datadir"
)

// TestRelease_DesktopDataDirPerPlatform: without --data, the data goes to
// the platform's per-user data directory unless ./gatehouse-data already
// exists where Gatehouse was started.
func TestRelease_DesktopDataDirPerPlatform(t *testing.T) {
	t.Parallel()
	none := func(string) bool { return false }
	for _, tc := range []struct {
		name   string
		in     datadir.Inputs
		want   string
		reason string
	}{
		{"linux XDG_DATA_HOME", datadir.Inputs{GOOS: "linux", Env: map[string]string{"XDG_DATA_HOME": "/x/data"}, Home: "/home/ann", Cwd: "/tmp", IsDir: none}, "/x/data/gatehouse", "per-user"},
		{"linux relative XDG_DATA_HOME is ignored", datadir.Inputs{GOOS: "linux", Env: map[string]string{"XDG_DATA_HOME": "rel"}, Home: "/home/ann", Cwd: "/tmp", IsDir: none}, "/home/ann/.local/share/gatehouse", "per-user"},
		{"linux home", datadir.Inputs{GOOS: "linux", Home: "/home/ann", Cwd: "/tmp", IsDir: none}, "/home/ann/.local/share/gatehouse", "per-user"},
		{"freebsd like linux", datadir.Inputs{GOOS: "freebsd", Home: "/home/ann", Cwd: "/tmp", IsDir: none}, "/home/ann/.local/share/gatehouse", "per-user"},
		{"darwin", datadir.Inputs{GOOS: "darwin", Env: map[string]string{"XDG_DATA_HOME": "/x"}, Home: "/Users/ann", Cwd: "/", IsDir: none}, "/Users/ann/Library/Application Support/Gatehouse", "per-user"},
		{"windows AppData", datadir.Inputs{GOOS: "windows", Env: map[string]string{"APPDATA": `C:\Users\ann\AppData\Roaming`}, Home: `C:\Users\ann`, Cwd: `C:\Users\ann\Downloads`, IsDir: none}, `C:\Users\ann\AppData\Roaming\Gatehouse`, "per-user"},
		{"windows without APPDATA", datadir.Inputs{GOOS: "windows", Home: `C:\Users\ann`, Cwd: `C:\`, IsDir: none}, `C:\Users\ann\AppData\Roaming\Gatehouse`, "per-user"},
		{"existing ./gatehouse-data wins (linux)", datadir.Inputs{GOOS: "linux", Env: map[string]string{"XDG_DATA_HOME": "/x"}, Home: "/home/ann", Cwd: "/srv/gh", IsDir: func(p string) bool { return p == "/srv/gh/gatehouse-data" }}, "/srv/gh/gatehouse-data", "./gatehouse-data"},
		{"existing ./gatehouse-data wins (windows)", datadir.Inputs{GOOS: "windows", Env: map[string]string{"APPDATA": `C:\AD`}, Home: `C:\Users\ann`, Cwd: `D:\gh`, IsDir: func(p string) bool { return p == `D:\gh\gatehouse-data` }}, `D:\gh\gatehouse-data`, "./gatehouse-data"},
		{"no home: the working directory", datadir.Inputs{GOOS: "linux", Cwd: "/srv", IsDir: none}, "/srv/gatehouse-data", "no home"},
	} {
		got, why := datadir.Default(tc.in)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if !strings.Contains(why, tc.reason) {
			t.Errorf("%s: reason %q does not say %q", tc.name, why, tc.reason)
		}
	}
}

// TestRelease_DataDirLock: a second holder of one data directory is
// refused with the first one's pid; the lock is free again after Release.
func TestRelease_DataDirLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := datadir.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Lock(dir)
	var busy *datadir.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("second lock: %v, want BusyError", err)
	}
	if busy.PID != os.Getpid() {
		t.Fatalf("busy pid %d, want %d", busy.PID, os.Getpid())
	}
	want := "another instance is using " + dir + " (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	// A server announces its address; the refusal names it.
	if err := first.Announce("http://localhost:8080"); err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Lock(dir)
	if !errors.As(err, &busy) || busy.URL != "http://localhost:8080" || busy.PID != os.Getpid() || !strings.HasSuffix(err.Error(), " at http://localhost:8080") {
		t.Fatalf("after Announce: %v (%+v)", err, busy)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := datadir.Lock(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Release()
	// A lock file left by a process that died (no lock held) is no obstacle.
	if err := os.WriteFile(filepath.Join(dir, datadir.LockFile), []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := datadir.Lock(dir)
	if err != nil {
		t.Fatalf("stale lock file: %v", err)
	}
	l.Release()
}
