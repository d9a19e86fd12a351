// Package cli is the command line: serve, admin, migrate, backup, seed and
// version. main calls Run, which returns the process exit code.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"gatehouse/models"
	"gatehouse/server"
	"gatehouse/server/api"
	"gatehouse/server/config"
	"gatehouse/server/datadir"
	"gatehouse/server/problem"
	"gatehouse/server/security"
	"gatehouse/server/service"
)

// Version is set at build time with -ldflags.
var Version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type usageError struct{ error }

// Run executes the command line and returns the exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer, console fs.FS) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return RunContext(ctx, args, stdin, stdout, stderr, console)
}

// RunContext is Run with a caller-supplied context (tests cancel it).
func RunContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, console fs.FS) int {
	return RunHost(ctx, args, stdin, stdout, stderr, console, DefaultHost(stdin))
}

// RunHost is RunContext on the given Host (tests inject the browser opener
// and the inputs of the default data directory).
func RunHost(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, console fs.FS, host Host) int {
	desktop := DesktopStart(args, host)
	root := newRoot(stdin, stdout, stderr, console, host, desktop)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ue usageError
	if errors.As(err, &ue) || strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg(s)") {
		fmt.Fprintf(stderr, "gatehouse: %v\nRun 'gatehouse --help' for usage.\n", err)
		code = exitUsage
	} else {
		fmt.Fprintf(stderr, "gatehouse: %s\n", describe(err))
	}
	if desktop && host.GOOS == "windows" && host.Terminal {
		// A double-click's console window closes with the process: keep
		// the reason on screen until it is read.
		fmt.Fprint(stderr, "\nPress Enter to close this window.\n")
		readLine(stdin)
	}
	return code
}

// readLine reads up to and including the next newline, byte by byte (so
// that nothing after it is consumed).
func readLine(r io.Reader) {
	b := make([]byte, 1)
	for {
		if n, err := r.Read(b); err != nil || (n == 1 && b[0] == '\n') {
			return
		}
	}
}

// describe turns an error into words for a shell user, listing field errors.
func describe(err error) string {
	var pe *problem.Error
	if !errors.As(err, &pe) {
		return err.Error()
	}
	msg := pe.Message
	keys := make([]string, 0, len(pe.Fields))
	for k := range pe.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg += fmt.Sprintf("\n  %s: %s", k, pe.Fields[k])
	}
	return msg
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envList(name string) []string {
	v := os.Getenv(name)
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer, console fs.FS, host Host, desktop bool) *cobra.Command {
	cfg := &config.Config{}
	dataWhy := ""
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: accounts, roles and sign-in in one binary",
		Long:          "Gatehouse is a self-hosted account-management and sign-in server with its admin console built in.\nWith no command it runs 'serve'.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&cfg.DataDir, "data", env("GATEHOUSE_DATA", ""), "data directory: SQLite database and secret key (env GATEHOUSE_DATA; default ./gatehouse-data when it exists, else the per-user data directory)")
	pf.StringVar(&cfg.DatabaseURL, "database-url", env("GATEHOUSE_DATABASE_URL", ""), "PostgreSQL URL instead of the embedded SQLite (env GATEHOUSE_DATABASE_URL)")
	pf.StringVar(&cfg.LogLevel, "log-level", env("GATEHOUSE_LOG_LEVEL", "info"), "debug, info, warn or error (env GATEHOUSE_LOG_LEVEL)")
	pf.StringVar(&cfg.LogFormat, "log-format", env("GATEHOUSE_LOG_FORMAT", "text"), "text or json (env GATEHOUSE_LOG_FORMAT)")
	cfg.SecretKey = os.Getenv("GATEHOUSE_SECRET_KEY")
	cfg.TurnstileVerifyURL = os.Getenv("GATEHOUSE_TURNSTILE_VERIFY_URL")

	// Every command resolves the data directory the same way, before it
	// runs (a usage error resolves nothing and creates nothing).
	root.PersistentPreRun = func(*cobra.Command, []string) { dataWhy = resolveDataDir(cfg, host) }
	serve := newServe(cfg, stdout, stderr, console, host, desktop, &dataWhy)
	root.AddCommand(serve, newAdmin(cfg, stdin, stdout, stderr), newMigrate(cfg, stdout, stderr), newBackup(cfg, stdout, stderr),
		newRestore(cfg, stdout, stderr), newSeed(cfg, stdout, stderr), newKey(cfg, stdout, stderr), newSigningKeys(cfg, stdout, stderr), newVersion(stdout), newHealthcheck(cfg, stdout))
	// No command: serve (a double-clicked binary just starts).
	root.RunE = serve.RunE
	root.Flags().AddFlagSet(serve.Flags())
	return root
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tuneGC lets the heap grow to five times the live data between
// collections (GOGC=400) under a soft limit of 160 MiB, unless GOGC or
// GOMEMLIMIT are set. The server's live heap is small (a few MB), so the
// default (GOGC=100) collected every few milliseconds under load: about a
// sixth of the CPU of an authenticated request. Measured on the 2-core
// development machine, GET /api/me with 32 clients: 6,900-7,200 req/s
// with the default, 7,800-9,200 with this; idle memory is unchanged.
// The limit covers the Go heap only: SQLite's page caches (8 MiB, some 16
// MiB resident, for a bulk change's connection, models.RunBulkTx) and the
// mapped binary come on top, and the server's whole resident set is to stay within 256 MiB.
// With 256 MiB here a bulk status change of 100,000 accounts peaked at
// 366-419 MB (its live heap is some 60 MB; the rest was headroom).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

func newServe(cfg *config.Config, stdout, stderr io.Writer, console fs.FS, host Host, desktop bool, dataWhy *string) *cobra.Command {
	var open bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start the HTTP server (the default command)",
		Args:  cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&cfg.HTTPAddr, "http", env("GATEHOUSE_HTTP", "127.0.0.1:8080"), "listen address (env GATEHOUSE_HTTP)")
	f.StringVar(&cfg.BaseURL, "base-url", env("GATEHOUSE_BASE_URL", ""), "public URL for links and callbacks; https makes cookies Secure (env GATEHOUSE_BASE_URL)")
	f.StringSliceVar(&cfg.TrustedProxies, "trusted-proxy", envList("GATEHOUSE_TRUSTED_PROXIES"), "IP or CIDR of a reverse proxy whose X-Forwarded-For is trusted; repeatable (env GATEHOUSE_TRUSTED_PROXIES, comma-separated)")
	f.StringVar(&cfg.RedisURL, "redis", env("GATEHOUSE_REDIS", ""), "Redis URL for shared rate-limit counters (env GATEHOUSE_REDIS)")
	f.BoolVar(&cfg.RedisRequired, "redis-required", env("GATEHOUSE_REDIS_REQUIRED", "") == "true", "refuse to start while Redis does not answer, instead of starting with rate limits counted in memory (env GATEHOUSE_REDIS_REQUIRED=true)")
	f.BoolVar(&cfg.WebhooksAllowHTTPLoopback, "webhooks-allow-http-loopback", env("GATEHOUSE_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "") == "true", "accept http:// webhook receivers on a loopback address, for development (env GATEHOUSE_WEBHOOKS_ALLOW_HTTP_LOOPBACK=true); https otherwise")
	f.BoolVar(&cfg.Metrics, "metrics", env("GATEHOUSE_METRICS", "") == "true", "serve Prometheus metrics at /metrics (env GATEHOUSE_METRICS=true)")
	f.StringVar(&cfg.TLSCert, "tls-cert", env("GATEHOUSE_TLS_CERT", ""), "TLS certificate file (env GATEHOUSE_TLS_CERT)")
	f.StringVar(&cfg.TLSKey, "tls-key", env("GATEHOUSE_TLS_KEY", ""), "TLS key file (env GATEHOUSE_TLS_KEY)")
	f.StringVar(&cfg.CookieDomain, "cookie-domain", env("GATEHOUSE_COOKIE_DOMAIN", ""), "share the session cookie with this domain's subdomains, for forward auth on other hosts (the base URL's host or a parent of it; env GATEHOUSE_COOKIE_DOMAIN)")
	f.BoolVar(&open, "open", false, "open the setup link (or the console) in the default browser; on by itself when started from a file manager")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		defaultBase := cfg.BaseURL == ""
		if err := cfg.Normalize(); err != nil {
			return usageError{err}
		}
		log := newLogger(cfg, stderr)
		slog.SetDefault(log) // the error renderer and libraries log through the default
		// The first line says where the data is (a double-clicked binary
		// has no other way to tell).
		log.Info("data directory", "path", cfg.DataDir, "chosen", *dataWhy)
		held, err := datadir.Lock(cfg.DataDir)
		if err != nil {
			// Started again from a file manager (or with --open): open the
			// console of the instance that is running.
			var busy *datadir.BusyError
			if errors.As(err, &busy) && busy.URL != "" && (open || desktop) && host.Open != nil {
				if oerr := host.Open(busy.URL + "/"); oerr == nil {
					return fmt.Errorf("%w; opened it in the browser", err)
				}
			}
			return err
		}
		defer held.Release() //nolint:errcheck
		tuneGC()
		if v := os.Getenv(api.TestExportFailEnv); v != "" {
			// TEST ONLY (browser tests of a failed export).
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return usageError{fmt.Errorf("%s must be a positive number of rows", api.TestExportFailEnv)}
			}
			api.FailExportsAfterRows(n)
			log.Warn("TEST ONLY: every CSV export fails after a number of rows", "env", api.TestExportFailEnv, "rows", n)
		}
		ctx := cmd.Context()
		// Start-up runs to the end even when a signal arrives meanwhile;
		// Serve then shuts down cleanly.
		startCtx := context.WithoutCancel(ctx)
		db, box, err := server.OpenVersion(startCtx, cfg, log, Version)
		if err != nil {
			return err
		}
		defer db.Close()
		srv, err := server.New(db, box, server.Options{Config: cfg, Console: console, Log: log, Version: Version, Commit: commit(), BuildDate: buildDate()})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
		}
		if defaultBase {
			// The bound address, so that links name the real port (--http :0);
			// on every interface (0.0.0.0, [::], a container's listener),
			// localhost, since a browser cannot open http://[::]:8080.
			scheme, _, _ := strings.Cut(cfg.BaseURL, "://")
			cfg.BaseURL = scheme + "://" + linkAddr(ln.Addr().String())
		}
		if err := held.Announce(cfg.BaseURL); err != nil {
			log.Warn("could not write the address into the lock file", "error", err)
		}
		fmt.Fprintf(stdout, "Gatehouse %s listening on %s (data: %s)\n", Version, ln.Addr(), cfg.DataDir)
		token, err := srv.Svc.Setup.Begin(startCtx)
		if err != nil {
			ln.Close()
			return err
		}
		if token != "" {
			fmt.Fprintf(stdout, "\nNo accounts yet. Open this one-time link to create the first super administrator:\n\n    %s/setup?token=%s\n\nThe link works once, on any instance, for 24 hours (a restart prints a new one). Or run: gatehouse admin create --username NAME\n\n", cfg.BaseURL, token)
		}
		if (open || desktop) && host.Open != nil {
			target := cfg.BaseURL + "/"
			if token != "" {
				target = cfg.BaseURL + "/setup?token=" + token
			}
			if err := host.Open(target); err != nil {
				log.Warn("could not open a browser; open the link above yourself", "error", err)
			}
		}
		return srv.Serve(ctx, ln)
	}
	return cmd
}

// linkAddr is the host and port for links to a listener at addr: an
// unspecified host becomes localhost.
func linkAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// openServices opens the data directory for a one-shot command.
func openServices(ctx context.Context, cfg *config.Config, stderr io.Writer) (*service.Services, func(), error) {
	if err := cfg.Normalize(); err != nil {
		return nil, nil, usageError{err}
	}
	log := newLogger(cfg, stderr)
	db, box, err := server.OpenVersion(ctx, cfg, log, Version)
	if err != nil {
		return nil, nil, err
	}
	srv, err := server.New(db, box, server.Options{Config: cfg, Log: log, Version: Version, Commit: commit(), BuildDate: buildDate()})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return srv.Svc, func() { srv.Svc.Close(); srv.Close(); db.Close() }, nil
}

// readPassword takes the password from the flag, or one line of stdin.
func readPassword(flagValue string, stdin io.Reader, stderr io.Writer) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Password: ")
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", usageError{errors.New("no password given: pass --password or write it on standard input")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newAdmin(cfg *config.Config, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	admin := &cobra.Command{Use: "admin", Short: "Manage accounts from the shell (works while the server runs)"}

	var in service.NewUser
	create := &cobra.Command{
		Use:   "create --username NAME [--password PW] [--email EMAIL] [--role ROLE]",
		Short: "Create an account (a super administrator unless --role says otherwise)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Username == "" {
				return usageError{errors.New("--username is required")}
			}
			pw, err := readPassword(in.Password, stdin, stderr)
			if err != nil {
				return err
			}
			in.Password = pw
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			u, err := svc.CreateUserFromShell(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Created %s %q (public ID %s).\n", u.Role, u.Username, u.PublicID)
			// The shell creates accounts without the console's guards: say
			// so when the new password cannot be used (the sign-in methods
			// are the console's to choose; recover turns one on).
			gap, err := svc.PasswordSignInGap(cmd.Context(), u)
			if err != nil {
				return err
			}
			if gap != "" {
				fix := "turn on username or email sign-in under Login & auth"
				if models.IsAdminRole(u.Role) {
					fix = fmt.Sprintf("run 'gatehouse admin recover %s' to turn username sign-in on", u.Username)
				}
				fmt.Fprintf(stderr, "Warning: %q cannot sign in with this password yet: %s; %s.\n", u.Username, gap, fix)
			}
			return nil
		},
	}
	create.Flags().StringVar(&in.Username, "username", "", "username (required)")
	create.Flags().StringVar(&in.Password, "password", "", "password; read from standard input when omitted")
	create.Flags().StringVar(&in.Email, "email", "", "email address")
	create.Flags().StringVar(&in.DisplayName, "display-name", "", "display name")
	create.Flags().StringVar(&in.Role, "role", models.RoleSuperAdmin, "user, admin or super_admin")

	var newPassword string
	reset := &cobra.Command{
		Use:   "reset-password USER [--password PW]",
		Short: "Set a new password for USER (username, email or public ID); ends their sessions and clears a lock",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(newPassword, stdin, stderr)
			if err != nil {
				return err
			}
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			u, err := svc.ResetPasswordFromShell(cmd.Context(), args[0], pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Password of %q changed; their sessions were ended.\n", u.Username)
			return nil
		},
	}
	reset.Flags().StringVar(&newPassword, "password", "", "new password; read from standard input when omitted")

	unlock := &cobra.Command{
		Use:   "unlock USER",
		Short: "Clear the failed-sign-in lock of USER (username, email or public ID)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			u, err := svc.UnlockFromShell(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Unlocked %q.\n", u.Username)
			return nil
		},
	}
	var recoverPassword string
	var recoverTwoFactor bool
	recoverCmd := &cobra.Command{
		Use:   "recover USER [--password PW] [--reset-2fa]",
		Short: "Break-glass: let administrator USER sign in with a password now",
		Long: "Sets the password of administrator USER (username, email or public ID), clears the lock,\n" +
			"re-activates the account, turns username sign-in on when no password sign-in method would\n" +
			"let the account in, optionally clears its second factor, and ends its sessions. Audited.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(recoverPassword, stdin, stderr)
			if err != nil {
				return err
			}
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			rec, err := svc.RecoverAdminFromShell(cmd.Context(), args[0], pw, recoverTwoFactor)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Recovered %s %q (public ID %s):\n", rec.User.Role, rec.User.Username, rec.User.PublicID)
			for _, c := range rec.Changes {
				fmt.Fprintf(stdout, "  - %s\n", c)
			}
			if rec.User.TwoFactorEnabled() && !recoverTwoFactor {
				fmt.Fprintln(stdout, "Two-factor authentication stays on; add --reset-2fa if its authenticator is lost.")
			}
			fmt.Fprintf(stdout, "%q can sign in with the new password now.\n", rec.User.Username)
			return nil
		},
	}
	recoverCmd.Flags().StringVar(&recoverPassword, "password", "", "new password; read from standard input when omitted")
	recoverCmd.Flags().BoolVar(&recoverTwoFactor, "reset-2fa", false, "also clear two-factor authentication and recovery codes")

	admin.AddCommand(create, reset, unlock, recoverCmd)
	// "admin" alone or with an unknown subcommand is a usage error (exit
	// 2); cobra would print the help and exit 0.
	admin.Args = cobra.NoArgs
	admin.RunE = func(cmd *cobra.Command, args []string) error {
		return usageError{errors.New("admin needs a subcommand: create, reset-password, unlock or recover")}
	}
	return admin
}

func newMigrate(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit (serve does this too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Normalize(); err != nil {
				return usageError{err}
			}
			log := newLogger(cfg, stderr)
			if err := server.SecureDataFiles(cfg, log); err != nil {
				return err
			}
			db, err := models.Open(cfg.DatabaseURL, cfg.DatabasePath())
			if err != nil {
				return err
			}
			defer db.Close()
			names, err := server.Migrate(cmd.Context(), cfg, db, log, Version)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				fmt.Fprintln(stdout, "The database is up to date.")
			} else {
				fmt.Fprintf(stdout, "Applied %d migration(s): %s\n", len(names), strings.Join(names, ", "))
			}
			return nil
		},
	}
}

func newBackup(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the SQLite database to FILE (safe while serving)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Normalize(); err != nil {
				return usageError{err}
			}
			if cfg.DatabaseURL != "" {
				return usageError{errors.New("backup copies the embedded SQLite database; for PostgreSQL use pg_dump")}
			}
			if _, err := os.Stat(cfg.DatabasePath()); err != nil {
				return fmt.Errorf("no database at %s: %w", cfg.DatabasePath(), err)
			}
			if err := server.SecureDataFiles(cfg, newLogger(cfg, stderr)); err != nil {
				return err
			}
			// The copy holds everything the database does: it is created
			// 0600 here, empty, and VACUUM INTO (which accepts an empty
			// file) fills it. O_EXCL never overwrites an existing file.
			f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, models.DataFileMode)
			if errors.Is(err, fs.ErrExist) {
				return usageError{fmt.Errorf("%s already exists; choose a new file name", args[0])}
			}
			if err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			f.Close()
			db, err := models.OpenSQLite(cfg.DatabasePath())
			if err != nil {
				os.Remove(args[0])
				return err
			}
			defer db.Close()
			// VACUUM INTO reads one snapshot of the WAL database, so writers
			// may continue while the copy is made.
			if _, err := db.ExecContext(cmd.Context(), "VACUUM INTO ?", args[0]); err != nil {
				os.Remove(args[0])
				return fmt.Errorf("backup: %w", err)
			}
			fmt.Fprintf(stdout, "Backup written to %s\n", args[0])
			fmt.Fprintf(stdout, "Keep %s with it: encrypted settings need that key.\n", cfg.KeyPath())
			return nil
		},
	}
}

// newSigningKeys is `gatehouse keys rotate`: the OpenID Provider's
// ID-token signing key (not the secret key: that is `gatehouse key`).
func newSigningKeys(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage the OpenID Provider's signing keys (the secret key is 'gatehouse key')"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Sign ID tokens with a new key from now on (safe while instances run)",
		Long: "Makes a new ES256 signing key for the OpenID Provider and retires the current one. The\n" +
			"retired key stays in the JWKS (/oauth/keys) until every ID token it signed has expired\n" +
			"(24 hours and 10 minutes), so applications that cache the key set keep verifying.\n" +
			"Running instances sign with the new key within 30 seconds. Keys also rotate on their own\n" +
			"every 90 days.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := svc.OIDC.EnsureSigningKey(cmd.Context()); err != nil {
				return err
			}
			res, err := svc.OIDC.RotateSigningKey(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "New signing key %s. The previous key %s stays published until %s.\n", res.NewKeyID, res.OldKeyID, res.OldPublishedUntil.Format(time.RFC3339))
			return nil
		},
	}
	keys.AddCommand(rotate)
	keys.Args = cobra.NoArgs
	keys.RunE = func(cmd *cobra.Command, args []string) error {
		return usageError{errors.New("keys needs a subcommand: rotate")}
	}
	return keys
}

func newKey(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Manage the secret key that seals stored secrets"}
	var newKeyFile string
	rotate := &cobra.Command{
		Use:   "rotate [--new-key-file FILE]",
		Short: "Re-encrypt every stored secret under a new key (safe while instances run)",
		Long: "Re-encrypts every stored secret (the SMTP password, the Turnstile secret, identity-provider\n" +
			"client secrets, TOTP secrets, pending provider sign-ins, queued emails, OpenID Provider signing\n" +
			"keys, webhook endpoint secrets) under a new key in one transaction and records the new key's\n" +
			"fingerprint.\n" +
			"With the key file of the data directory, the new key replaces secret.key (the old one is kept\n" +
			"as secret.key.previous for older backups). With GATEHOUSE_SECRET_KEY, pass --new-key-file: the\n" +
			"new key is read from FILE, or written there when FILE does not exist yet.\n" +
			"Running instances answer 503 secret_key_changed until restarted with the new key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Normalize(); err != nil {
				return usageError{err}
			}
			if cfg.SecretKey != "" && newKeyFile == "" {
				return usageError{errors.New("the key comes from GATEHOUSE_SECRET_KEY: pass --new-key-file FILE to read the new key from FILE or have it written there")}
			}
			ctx := cmd.Context()
			log := newLogger(cfg, stderr)
			db, old, err := server.OpenLogged(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer db.Close()
			// The new key is on disk before the database changes, so a
			// failure after the commit never loses it.
			target := newKeyFile
			if target == "" {
				target = cfg.KeyPath() + ".new"
				os.Remove(target)
			}
			next, created, err := readOrCreateKey(target)
			if err != nil {
				return err
			}
			nextBox, err := security.NewSecretBox(next)
			if err != nil {
				return err
			}
			if security.KeyFingerprint(next) == security.KeyFingerprint(old.Key()) {
				return usageError{errors.New("the new key is the current key")}
			}
			res, err := service.RotateKey(ctx, db, old, nextBox, log)
			if err != nil {
				if newKeyFile == "" {
					os.Remove(target)
				}
				return err
			}
			fmt.Fprintf(stdout, "Re-encrypted %d secret(s) under the new key.\n", res.Secrets)
			if newKeyFile == "" {
				prev := cfg.KeyPath() + ".previous"
				if err := os.Rename(cfg.KeyPath(), prev); err != nil {
					return fmt.Errorf("the database uses the new key in %s now, but keeping the old key failed: %w; move %s to %s by hand", target, err, target, cfg.KeyPath())
				}
				if err := os.Rename(target, cfg.KeyPath()); err != nil {
					return fmt.Errorf("the database uses the new key in %s now, but %w; move it to %s by hand", target, err, cfg.KeyPath())
				}
				fmt.Fprintf(stdout, "The new key is in %s; the old one was kept as %s (backups made before now need it).\n", cfg.KeyPath(), prev)
			} else if created {
				fmt.Fprintf(stdout, "The new key was written to %s.\n", newKeyFile)
			}
			fmt.Fprintln(stdout, "Restart every instance with the new key; until then they answer 503 secret_key_changed.")
			return nil
		},
	}
	rotate.Flags().StringVar(&newKeyFile, "new-key-file", "", "file with the new key (base64 or hex of 32 bytes); created with a random key when missing")
	key.AddCommand(rotate)
	key.Args = cobra.NoArgs
	key.RunE = func(cmd *cobra.Command, args []string) error {
		return usageError{errors.New("key needs a subcommand: rotate")}
	}
	return key
}

// readOrCreateKey reads the key in path, or writes a new random one there
// (mode 0600) when the file does not exist.
func readOrCreateKey(path string) (key []byte, created bool, err error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := security.ParseKey(string(b))
		return k, false, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if key, err = security.NewKey(); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("write new key: %w", err)
	}
	if _, err := f.WriteString(security.EncodeKey(key)); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write new key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write new key: %w", err)
	}
	return key, true, f.Close()
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "gatehouse %s\ncommit %s\nbuilt %s\n%s %s/%s\n", Version, commit(), buildDate(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}

func newSeed(cfg *config.Config, stdout, stderr io.Writer) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "seed --users N",
		Short: "Add N synthetic accounts for demos and benchmarks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 10_000_000 {
				return usageError{errors.New("--users must be from 1 to 10000000")}
			}
			// On PostgreSQL the load ends with index builds that take
			// minutes at millions of accounts: wait for them.
			if cfg.DatabaseURL != "" {
				cfg.DatabaseURL = models.LongStatements(cfg.DatabaseURL, time.Hour)
			}
			svc, closeFn, err := openServices(cmd.Context(), cfg, stderr)
			if err != nil {
				return err
			}
			defer closeFn()
			start := time.Now()
			last := time.Now()
			err = svc.Seed(cmd.Context(), n, func(done int) {
				if time.Since(last) > 5*time.Second || done == n {
					fmt.Fprintf(stdout, "  %d/%d accounts (%.0fs)\n", done, n, time.Since(start).Seconds())
					last = time.Now()
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Seeded %d accounts in %.1fs. Their password is %q.\n", n, time.Since(start).Seconds(), service.SeedPassword)
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "users", 1000, "how many accounts to add")
	return cmd
}
