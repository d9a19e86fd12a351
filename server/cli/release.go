package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gatehouse/models"
	"gatehouse/models/migrations"
	"gatehouse/server"
	"gatehouse/server/config"
	"gatehouse/server/datadir"
	"gatehouse/server/security"
	"gatehouse/server/service"
)

// Commit and BuildDate are set at build time with -ldflags, like Version
// (make release stamps the commit and its commit time, so that two builds
// of one commit are identical).
var (
	Commit    = ""
	BuildDate = ""
)

// commit is Commit, or the revision the Go toolchain recorded.
func commit() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func buildDate() string {
	if BuildDate != "" {
		return BuildDate
	}
	return "unknown"
}

// Host is what the command line takes from the machine it runs on;
// RunContext uses the real one, tests inject theirs.
type Host struct {
	GOOS string
	// Terminal says standard input is a terminal (not a file manager's
	// double-click).
	Terminal bool
	// Display says a graphical session is there to open a browser in.
	Display bool
	// Open opens url in the default browser.
	Open func(url string) error
	// DataInputs are what the default data directory depends on.
	DataInputs func() datadir.Inputs
}

// DefaultHost is the real machine.
func DefaultHost(stdin io.Reader) Host {
	terminal := false
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	display := runtime.GOOS == "windows" || runtime.GOOS == "darwin" || os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	return Host{
		GOOS: runtime.GOOS, Terminal: terminal, Display: display,
		Open:       func(url string) error { return openBrowser(runtime.GOOS, url) },
		DataInputs: func() datadir.Inputs { return datadir.Current(runtime.GOOS) },
	}
}

// BrowserCommand is the command that opens url in the default browser.
func BrowserCommand(goos, url string) []string {
	switch goos {
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", url}
	case "darwin":
		return []string{"open", url}
	default:
		return []string{"xdg-open", url}
	}
}

func openBrowser(goos, url string) error {
	argv := BrowserCommand(goos, url)
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // the opener's exit status says nothing useful
	return nil
}

// DesktopStart reports whether a start is a desktop-style one that opens
// the browser: no command and no flags, and a graphical session to open it
// in; on Linux and the BSDs also standard input not a terminal (a file
// manager starts the binary without one). On macOS and Windows a
// double-click opens a terminal window for the binary (Terminal.app, a
// console), so there no command at all is enough.
func DesktopStart(args []string, h Host) bool {
	if len(args) != 0 || !h.Display {
		return false
	}
	return !h.Terminal || h.GOOS == "darwin" || h.GOOS == "windows"
}

// resolveDataDir fills cfg.DataDir when neither --data nor GATEHOUSE_DATA
// named one, and says where the choice came from.
func resolveDataDir(cfg *config.Config, h Host) string {
	if cfg.DataDir != "" {
		if _, ok := os.LookupEnv("GATEHOUSE_DATA"); ok && os.Getenv("GATEHOUSE_DATA") == cfg.DataDir {
			return "GATEHOUSE_DATA"
		}
		return "--data"
	}
	in := datadir.Inputs{}
	if h.DataInputs != nil {
		in = h.DataInputs()
	}
	dir, why := datadir.Default(in)
	cfg.DataDir = dir
	return why
}

func newHealthcheck(cfg *config.Config, stdout io.Writer) *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Exit 0 when the server on --http answers /api/ready (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = "http://" + localAddr(cfg.HTTPAddr) + "/api/ready"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError{err}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("not ready: %w", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: %s answered %d", url, res.StatusCode)
			}
			fmt.Fprintf(stdout, "ready: %s\n", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http", env("GATEHOUSE_HTTP", "127.0.0.1:8080"), "the server's listen address (env GATEHOUSE_HTTP)")
	cmd.Flags().StringVar(&url, "url", "", "URL to check instead of http://<--http>/api/ready")
	return cmd
}

// localAddr turns a listen address into one to connect to: an unspecified
// host (":8080", "0.0.0.0:8080", "[::]:8080") becomes the loopback.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func newRestore(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the SQLite database with the backup FILE (the server must be stopped)",
		Long: "Checks FILE (a SQLite file that passes integrity_check, a schema this binary knows, sealed with\n" +
			"this data directory's secret key), refuses while a server uses the data directory, keeps the\n" +
			"replaced database in backups/ and puts FILE in its place. Migrations, if the backup is older,\n" +
			"run at the next start.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Normalize(); err != nil {
				return usageError{err}
			}
			if cfg.DatabaseURL != "" {
				return usageError{errors.New("restore replaces the embedded SQLite database; for PostgreSQL use pg_restore")}
			}
			path, kept, err := restore(cmd.Context(), cfg, args[0], newLogger(cfg, stderr))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Restored %s into %s.\n", args[0], cfg.DatabasePath())
			if kept != "" {
				fmt.Fprintf(stdout, "The database it replaced is kept at %s.\n", kept)
			}
			_ = path
			return nil
		},
	}
}

// restore checks file and puts it in place of the data directory's
// database; it answers the new database's path and where the replaced one
// was kept ("" when there was none).
func restore(ctx context.Context, cfg *config.Config, file string, log *slog.Logger) (string, string, error) {
	if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("%s is not a file to restore", file)
	}
	held, err := datadir.Lock(cfg.DataDir)
	if err != nil {
		var busy *datadir.BusyError
		if errors.As(err, &busy) {
			return "", "", fmt.Errorf("%w: stop it before restoring", err)
		}
		return "", "", err
	}
	defer held.Release() //nolint:errcheck
	if err := server.SecureDataFiles(cfg, log); err != nil {
		return "", "", err
	}
	if cfg.SecretKey == "" {
		if _, err := os.Stat(cfg.KeyPath()); err != nil {
			return "", "", fmt.Errorf("no secret key at %s: put the secret.key that belongs with the backup there first", cfg.KeyPath())
		}
	}
	key, err := security.LoadOrCreateKey(cfg.SecretKey, cfg.KeyPath())
	if err != nil {
		return "", "", err
	}
	box, err := security.NewSecretBox(key)
	if err != nil {
		return "", "", err
	}

	// The backup is copied next to the database and checked there, so
	// that the file given is never changed and the final step is a rename
	// on one file system.
	staged := cfg.DatabasePath() + ".restoring"
	_ = os.Remove(staged)
	if err := copyFile(file, staged); err != nil {
		return "", "", fmt.Errorf("copy %s: %w", file, err)
	}
	defer os.Remove(staged)
	if err := checkRestorable(ctx, staged, box, server.KeySource(cfg)); err != nil {
		return "", "", fmt.Errorf("%s cannot be restored: %w", file, err)
	}

	kept := ""
	if st, err := os.Stat(cfg.DatabasePath()); err == nil && st.Size() > 0 {
		cur, err := models.OpenSQLite(cfg.DatabasePath())
		if err != nil {
			return "", "", err
		}
		kept = filepath.Join(server.BackupDir(cfg), "before-restore-"+time.Now().UTC().Format("20060102T150405.000Z")+".db")
		err = server.VacuumInto(ctx, cur, kept)
		cur.Close()
		if err != nil {
			return "", "", fmt.Errorf("keep the current database: %w", err)
		}
	}
	for _, p := range []string{cfg.DatabasePath() + "-wal", cfg.DatabasePath() + "-shm", cfg.DatabasePath() + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", kept, err
		}
	}
	if err := os.Rename(staged, cfg.DatabasePath()); err != nil {
		return "", kept, err
	}
	log.Info("restored the database", "from", file, "kept", kept)
	return cfg.DatabasePath(), kept, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, models.DataFileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkRestorable opens the staged copy of a backup and checks that it is a
// sound SQLite database of a Gatehouse schema this binary knows, sealed with
// the key of box (its fingerprint, see service.CheckSecretKey).
func checkRestorable(ctx context.Context, path string, box *security.SecretBox, keySource string) error {
	head := make([]byte, 16)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, _ = io.ReadFull(f, head)
	f.Close()
	if string(head) != "SQLite format 3\x00" {
		return errors.New("it is not a SQLite database")
	}
	db, err := models.OpenSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var check []string
	if err := db.NewRaw("PRAGMA integrity_check").Scan(ctx, &check); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(check) != 1 || check[0] != "ok" {
		return fmt.Errorf("integrity check failed: %s", strings.Join(check, "; "))
	}
	st, err := migrations.Inspect(ctx, db)
	if err != nil {
		return err
	}
	if st.Applied == 0 {
		return errors.New("it is not a Gatehouse database (no migrations applied)")
	}
	if err := migrations.CheckNotNewer(ctx, db, Version); err != nil {
		return err
	}
	// The staged copy is brought to this binary's schema here (the file
	// given stays as it was, the backup of the state before), so that the
	// key check reads the fingerprint where this version keeps it.
	names, err := migrations.Run(ctx, db)
	if err != nil {
		return fmt.Errorf("migrate the restored copy: %w", err)
	}
	if err := migrations.Record(ctx, db, names, Version); err != nil {
		return err
	}
	// The key fingerprint recorded in the backup must be this data
	// directory's key (a backup from before fingerprints: every sealed
	// secret must open with it); else SMTP passwords, client secrets and
	// second factors would be unreadable after the restore.
	return service.CheckSecretKey(ctx, db, box, keySource)
}
