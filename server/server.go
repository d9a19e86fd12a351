// Package server assembles Gatehouse: it opens storage, wires services,
// middleware and the route table, and runs the HTTP server.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/api"
	"gatehouse/server/config"
	mw "gatehouse/server/middleware"
	"gatehouse/server/redisstore"
	"gatehouse/server/security"
	"gatehouse/server/service"
)

// Options are the pieces a Server is built from. Tests pass a clock and
// cheap hash parameters; production leaves them zero.
type Options struct {
	Config  *config.Config
	Console fs.FS
	Log     *slog.Logger
	Version string
	// Commit and BuildDate name the build in /api/health.
	Commit, BuildDate string
	Now               service.Clock
	Argon2            *security.Argon2Params
	// RateLimitWindow shortens the rate-limit window (tests only).
	RateLimitWindow time.Duration
}

// Server is a ready-to-serve Gatehouse.
type Server struct {
	Cfg     *config.Config
	DB      *bun.DB
	Svc     *service.Services
	Handler http.Handler
	Log     *slog.Logger

	engine  *gin.Engine
	limiter *mw.RateLimiter
}

// Routes lists the routes of the route table (method and gin path), for the
// test that compares them with the OpenAPI document.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// Open prepares storage: the data directory, the secret key and the
// database with all migrations applied. Modes it narrows are logged to
// the default logger; see OpenLogged.
func Open(ctx context.Context, cfg *config.Config) (*bun.DB, *security.SecretBox, error) {
	return OpenLogged(ctx, cfg, slog.Default())
}

// OpenLogged is Open logging to log: first it makes the data directory
// 0700 and the SQLite database, WAL and SHM 0600, warning about each mode
// it had to narrow, so that an older or hand-copied install does not stay
// readable by other local users.
func OpenLogged(ctx context.Context, cfg *config.Config, log *slog.Logger) (*bun.DB, *security.SecretBox, error) {
	return OpenVersion(ctx, cfg, log, "dev")
}

// OpenVersion is OpenLogged for the binary of version: migrations go
// through Migrate (refusal of a newer database, backup, record).
func OpenVersion(ctx context.Context, cfg *config.Config, log *slog.Logger, version string) (*bun.DB, *security.SecretBox, error) {
	if err := SecureDataFiles(cfg, log); err != nil {
		return nil, nil, err
	}
	key, err := security.LoadOrCreateKey(cfg.SecretKey, cfg.KeyPath())
	if err != nil {
		return nil, nil, err
	}
	box, err := security.NewSecretBox(key)
	if err != nil {
		return nil, nil, err
	}
	db, err := models.Open(cfg.DatabaseURL, cfg.DatabasePath())
	if err != nil {
		return nil, nil, err
	}
	if _, err := Migrate(ctx, cfg, db, log, version); err != nil {
		db.Close()
		return nil, nil, err
	}
	if err := service.CheckSecretKey(ctx, db, box, KeySource(cfg)); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, box, nil
}

// KeySource names where the secret key comes from, for messages.
func KeySource(cfg *config.Config) string {
	if cfg.SecretKey != "" {
		return "from GATEHOUSE_SECRET_KEY"
	}
	return "from " + cfg.KeyPath()
}

// New builds a Server on an open database.
func New(db *bun.DB, box *security.SecretBox, opt Options) (*Server, error) {
	cfg := opt.Config
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	params := security.DefaultArgon2
	if opt.Argon2 != nil {
		params = *opt.Argon2
	}
	svc := service.New(service.Deps{
		DB: db, Now: opt.Now, Box: box, Log: log, BaseURL: cfg.BaseURL, TurnstileVerifyURL: cfg.TurnstileVerifyURL,
		WebhooksAllowHTTPLoopback: cfg.WebhooksAllowHTTPLoopback,
		Hasher:                    security.NewHasher(params, 0, 15*time.Second),
		CookieCovers:              cfg.CookieCovers,
	})
	cookie := mw.NewSessionCookie(deriveKey(box.Key(), "cookie-hash"), deriveKey(box.Key(), "cookie-block"), cfg.SecureCookies()).WithDomain(cfg.CookieDomain)
	challenge := mw.NewChallengeCookie(deriveKey(box.Key(), "challenge-hash"), deriveKey(box.Key(), "challenge-block"), cfg.SecureCookies())
	store, err := rateLimitStore(cfg, log)
	if err != nil {
		svc.Close()
		return nil, err
	}
	limiter := mw.NewRateLimiter(store, svc.Settings, log)
	if opt.RateLimitWindow > 0 {
		limiter.Window = opt.RateLimitWindow
	}
	// The OpenID Provider's first signing key is made at the first start.
	if err := svc.OIDC.EnsureSigningKey(context.Background()); err != nil {
		svc.Close()
		return nil, fmt.Errorf("OpenID Provider signing key: %w", err)
	}
	h, err := api.NewHandler(cfg, svc, cookie, challenge, limiter, opt.Version)
	if err != nil {
		return nil, err
	}
	h.Commit, h.Built = opt.Commit, opt.BuildDate

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = false
	// Only configured proxies may set the client IP through headers.
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	r.Use(mw.RequestID(), mw.Logger(log), mw.Recovery(log), mw.SecurityHeaders(cfg.SecureCookies()))
	if cfg.Metrics {
		m := mw.NewMetrics()
		if g, ok := store.(*redisstore.Guarded); ok {
			m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "gatehouse_redis_up",
				Help: "1 while rate-limit counters are shared through Redis, 0 while Redis fails and this instance counts in memory.",
			}, func() float64 {
				if g.Up() {
					return 1
				}
				return 0
			}))
		}
		r.Use(m.Handler())
		r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})))
	}
	routes(r, h, mw.Authenticate(svc.Auth, svc.APIKeys, cookie), limiter)
	console := opt.Console
	if console == nil {
		console = emptyFS{}
	}
	r.NoRoute(spa(console))

	return &Server{Cfg: cfg, DB: db, Svc: svc, Handler: mw.CrossOrigin(r), Log: log, engine: r, limiter: limiter}, nil
}

// Close stops what New started besides the services: the Redis probe and
// connections.
func (s *Server) Close() { s.limiter.Close() }

// rateLimitStore is Redis when configured (counters shared by every
// instance, with this instance's memory as the fallback while Redis
// fails), else memory. A Redis that does not answer at start is a warning,
// or an error with --redis-required.
func rateLimitStore(cfg *config.Config, log *slog.Logger) (limiter.Store, error) {
	if cfg.RedisURL == "" {
		return memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: "gatehouse", CleanUpInterval: time.Minute}), nil
	}
	opt, err := redisstore.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return redisstore.NewGuarded(ctx, opt, "gatehouse", cfg.RedisRequired, log)
}

func deriveKey(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

type emptyFS struct{}

func (emptyFS) Open(string) (fs.File, error) { return nil, fs.ErrNotExist }

// Serve listens and serves until ctx ends, then lets in-flight requests
// finish (up to 20 seconds). ready, when not nil, receives the bound address.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() {
		if s.Cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.Cfg.TLSCert, s.Cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	go s.sweep(ctx)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Log.Info("shutting down; letting in-flight requests finish")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	s.Svc.Close()
	s.Close()
	if err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep deletes expired sessions and tokens, and usage idempotency keys
// older than seven days, every few minutes.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := models.DeleteExpiredSessions(ctx, s.DB, s.Svc.Now()); err != nil && ctx.Err() == nil {
				s.Log.Warn("expired-session sweep failed", "err", err)
			}
			if _, err := s.Svc.Usage.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("usage idempotency-key sweep failed", "err", err)
			}
			if err := s.Svc.OIDC.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("OpenID Provider sweep failed", "err", err)
			}
			// The signing key's scheduled rotation (KeyRotationInterval).
			if err := s.Svc.OIDC.RotateIfDue(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("signing key rotation failed", "err", err)
			}
		}
	}
}

// SecureDataFiles narrows the modes of the data directory and, with the
// embedded database, of its files (see models.SecureSQLiteFiles), logging a
// warning for each change.
func SecureDataFiles(cfg *config.Config, log *slog.Logger) error {
	var changed []string
	var err error
	if cfg.DatabaseURL == "" {
		changed, err = models.SecureSQLiteFiles(cfg.DatabasePath())
	} else {
		changed, err = models.SecureDataDir(cfg.DataDir)
	}
	for _, c := range changed {
		log.Warn("data file was readable by others; made private", "change", c)
	}
	return err
}
