// Package datadir chooses the data directory when none is given and keeps
// two servers from using one data directory at once.
package datadir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Inputs are what the default data directory depends on; tests pass their
// own, Current reads them from the running process.
type Inputs struct {
	GOOS string
	Env  map[string]string
	Home string
	Cwd  string
	// IsDir reports whether a directory exists at the path.
	IsDir func(string) bool
}

// Current is the Inputs of this process.
func Current(goos string) Inputs {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	env := map[string]string{}
	for _, k := range []string{"XDG_DATA_HOME", "APPDATA"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return Inputs{GOOS: goos, Env: env, Home: home, Cwd: cwd, IsDir: func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && st.IsDir()
	}}
}

// LocalName is the data directory in the working directory that earlier
// versions created and that still wins when it exists.
const LocalName = "gatehouse-data"

// Default is the data directory to use when neither --data nor
// GATEHOUSE_DATA names one, and why (for the first log line):
// ./gatehouse-data when it already exists in the working directory (an
// install that started there keeps its data), else the per-user data
// directory of the platform: $XDG_DATA_HOME/gatehouse or
// ~/.local/share/gatehouse, ~/Library/Application Support/Gatehouse on
// macOS, %AppData%\Gatehouse on Windows.
func Default(in Inputs) (dir, why string) {
	join := filepath.Join
	if in.GOOS == "windows" {
		join = windowsJoin
	}
	local := join(in.Cwd, LocalName)
	if in.Cwd != "" && in.IsDir != nil && in.IsDir(local) {
		return local, "./gatehouse-data exists in the working directory"
	}
	const perUser = "the per-user data directory (no --data given)"
	switch in.GOOS {
	case "windows":
		if ad := in.Env["APPDATA"]; ad != "" {
			return join(ad, "Gatehouse"), perUser
		}
		if in.Home != "" {
			return join(in.Home, "AppData", "Roaming", "Gatehouse"), perUser
		}
	case "darwin", "ios":
		if in.Home != "" {
			return join(in.Home, "Library", "Application Support", "Gatehouse"), perUser
		}
	default:
		if x := in.Env["XDG_DATA_HOME"]; x != "" && strings.HasPrefix(x, "/") {
			return join(x, "gatehouse"), perUser
		}
		if in.Home != "" {
			return join(in.Home, ".local", "share", "gatehouse"), perUser
		}
	}
	return local, "no home directory is known: ./gatehouse-data in the working directory"
}

// windowsJoin joins with backslashes, so that the Windows rule is tested on
// any platform.
func windowsJoin(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimRight(p, `\/`); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, `\`)
}

// LockFile is the name of the lock file inside the data directory.
const LockFile = "gatehouse.lock"

// BusyError says that another process holds the data directory.
type BusyError struct {
	Dir string
	PID int
	// URL is where the holder serves its console ("" when it has not
	// said, or is not a server).
	URL string
}

func (e *BusyError) Error() string {
	msg := "another instance is using " + e.Dir
	if e.PID > 0 {
		msg += fmt.Sprintf(" (pid %d)", e.PID)
	}
	if e.URL != "" {
		msg += " at " + e.URL
	}
	return msg
}

// Held is a data directory lock; Release gives it up (the process ending
// does too).
type Held struct{ f *os.File }

// Announce records in the lock file where the holder serves, so that a
// second start can name and open it (pid on the first line, URL on the
// second).
func (h *Held) Announce(url string) error {
	if h == nil || h.f == nil {
		return nil
	}
	if err := h.f.Truncate(0); err != nil {
		return err
	}
	if _, err := h.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"+url+"\n"), 0); err != nil {
		return err
	}
	return h.f.Sync()
}

// Release unlocks the data directory.
func (h *Held) Release() error {
	if h == nil || h.f == nil {
		return nil
	}
	err := unlockFile(h.f)
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	h.f = nil
	return err
}

// errBusy is what lockFile answers when another process holds the lock.
var errBusy = errors.New("locked")

// Lock takes the data directory dir (created 0700 when missing) for this
// process, or answers a *BusyError naming the process that holds it. The
// lock is an operating-system lock on dir/gatehouse.lock (flock on Unix,
// LockFileEx on Windows), so it goes away with the process that held it,
// even a killed one; the file keeps the holder's pid for the message.
func Lock(dir string) (*Held, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errBusy) {
			pid, url := readHolder(path)
			return nil, &BusyError{Dir: dir, PID: pid, URL: url}
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		_ = f.Sync()
	}
	return &Held{f: f}, nil
}

// Busy reports whether another process holds dir, without taking it.
func Busy(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	h, err := Lock(dir)
	if err != nil {
		return err
	}
	return h.Release()
}

// readHolder reads the pid and URL a holder wrote into the lock file.
func readHolder(path string) (int, string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4096))
	first, rest, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	url, _, _ := strings.Cut(rest, "\n")
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = ""
	}
	return pid, url
}
