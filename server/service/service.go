// Package service holds Gatehouse's rules: sign-in and lockout, sessions,
// protections, settings guards, and the audit log. It opens every
// transaction and knows nothing of HTTP.
//
// Account changes. Every change an administrator makes to accounts goes
// through one engine (accounts.go): a typed change value (account_changes.go)
// is planned per target — apply, no-op or refused with a reason — under the
// rules every change shares, then written set-based with its ledger rows,
// ended sessions and one audit shape. A single-account endpoint is a bulk of
// one (account_endpoints.go).
//
// To add a change kind (a new bulk action), touch at most three Go files:
//
//  1. account_changes.go: the type and its methods (check, selfRule,
//     touchesAccess, columns, plan, write, audit; prepare if it reads
//     something about all targets at once, preLock if it locks other
//     accounts' rows beside its targets) and its audit action constant
//     beside it. columns may name any column of models.User; write goes
//     through models.UpdateUsers (or another named write in models/: no
//     code outside models/ writes the users table itself);
//  2. bulk.go: the action name, its case in BulkRequest.change and the
//     action list of its error, and a BulkRequest field for a parameter;
//  3. server/api/users.go: that parameter in bulkParams and its copy into
//     the BulkRequest (nothing, for a kind without a parameter).
//
// To make an existing users column editable by administrators: one more
// pointer field in UserPatch and its line in each of columns, check, plan
// and write (account_changes.go); the field in updateUserRequest and its
// copy into the UserPatch (server/api/users.go); and, for a bulk
// set_<field> action, its case in bulk.go (as BulkSetTimezone). Locking,
// the shared rules, no-ops, sessions, the ledger and the audit row come
// from the engine.
//
// Not Go: the action enum or body field in server/api/openapi.yaml (then
// npm run gen:api) and the console's control and strings. Beyond three Go
// files: a field that is not a column yet also needs its migration
// (models/migrations) and its User field (models/user.go), and one the
// account view does not show yet its place in the view (UserDetail); a
// kind that gets its own single-account endpoint too adds a method in
// account_endpoints.go and a route in server/routes.go.
//
// The users table's writes and row locks are in models/user_write.go (the
// engine's: one locking read in id order, set-based updates) and
// models/user_account.go (sign-in, registration, the account's own
// profile, password and second factor, the shell's recovery); what its
// triggers feed is in models/users_table.go.
//
// Settings groups. Each group is one file, settings_<group>.go, with its
// stored type, default, PUT body, validation and view, registered once
// (registerGroup); the admin API and the audit are generic over them, so a
// new group is that file plus its console tab.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/oidc"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Clock tells the time; tests inject a controllable one.
type Clock func() time.Time

// Deps are what every service needs.
type Deps struct {
	DB     *bun.DB
	Now    Clock
	Hasher *security.Hasher
	Box    *security.SecretBox
	Log    *slog.Logger
	// BaseURL is the public URL for links in emails.
	BaseURL string
	// TurnstileVerifyURL overrides Cloudflare's siteverify endpoint.
	TurnstileVerifyURL string
	// WebhooksAllowHTTPLoopback accepts http:// webhook receivers on a
	// loopback address (development and tests); https only otherwise.
	WebhooksAllowHTTPLoopback bool
	// CookieCovers reports whether the browser sends the session cookie
	// to a host name (config.Config.CookieCovers); nil allows every host.
	CookieCovers func(host string) bool
}

// Services bundles the services the HTTP layer calls.
type Services struct {
	Deps
	// Stmts are the hot paths' prepared statements (models.Stmts).
	Stmts    *models.Stmts
	Settings *Settings
	Audit    *Audit
	Auth     *Auth
	Account  *Account
	Setup    *Setup
	Users    *Users
	Flows    *Flows
	// Outbox is the durable mail queue and this instance's sender.
	Outbox *Outbox
	Plans  *Plans
	// Providers manages identity providers and provider sign-in.
	Providers *Providers
	// Background runs the work of answers that must not wait for it.
	Background *Background
	// Passkeys registers and checks WebAuthn credentials.
	Passkeys *Passkeys
	// Applications are the OAuth clients that sign people in through
	// Gatehouse (the OpenID Provider, oidcprovider.go).
	Applications *Applications
	// OIDC is the OpenID Provider's storage and rules.
	OIDC *OIDC
	// Alerts emails people about sign-ins from new devices and changed
	// second factors.
	Alerts *Alerts
	// APIKeys manages and checks service API keys; Usage reads
	// entitlements and charges usage for them.
	APIKeys *APIKeys
	Usage   *Usage
	// Webhooks records account events and delivers them, signed.
	Webhooks *Webhooks
	// ProtectedApps are the hosts forward auth guards.
	ProtectedApps *ProtectedApps
}

// New wires the services together.
func New(d Deps) *Services {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Services{Deps: d, Stmts: models.NewStmts(d.DB)}
	s.Settings = &Settings{deps: d, stmts: s.Stmts, cache: map[string]cachedSetting{}}
	s.Audit = &Audit{now: d.Now, stmts: s.Stmts}
	s.Webhooks = newWebhooks(s, d.WebhooksAllowHTTPLoopback)
	s.Audit.hook = s.Webhooks.record
	s.Alerts = &Alerts{svc: s}
	s.Auth = &Auth{deps: d, settings: s.Settings, audit: s.Audit, sessions: models.NewSessionLookup(d.DB), alerts: s.Alerts}
	s.Account = &Account{deps: d, settings: s.Settings, audit: s.Audit, auth: s.Auth, alerts: s.Alerts}
	s.Setup = &Setup{deps: d, settings: s.Settings, audit: s.Audit, svc: s}
	s.Users = &Users{svc: s}
	s.Flows = &Flows{svc: s}
	s.Outbox = newOutbox(s, d.Log)
	s.Outbox.Start()
	s.Webhooks.Start()
	s.Background = newBackground(d.Log, 2, 256)
	// Stale entries of the update-time log left by a bulk change whose
	// sweep a restart cut short (models.SweepPendingUpdatedLog).
	s.Background.Go(context.Background(), "update-time log sweep", func(ctx context.Context) error {
		return models.SweepPendingUpdatedLog(ctx, d.DB)
	})
	s.Plans = &Plans{svc: s}
	s.Providers = NewProviders(s, oidc.NewClient(d.Now))
	s.Passkeys = newPasskeys(s)
	s.Applications = &Applications{svc: s}
	s.APIKeys = &APIKeys{svc: s, touched: map[int64]time.Time{}, cache: map[string]cachedKey{}}
	s.Usage = newUsage(s)
	s.OIDC = newOIDC(s)
	s.ProtectedApps = &ProtectedApps{svc: s}
	return s
}

// Actor is who makes a request and from where: the signed-in user (nil for
// anonymous requests), their session, and the client's IP and user agent.
type Actor struct {
	User      *models.User
	SessionID string
	IP        string
	UserAgent string
	// Device is the token of the browser's device cookie ("" when it
	// sent none): what makes a sign-in from a known device (Alerts).
	Device string
	// Key is the service API key the request came with (User is nil then).
	Key *models.APIKey
}

func (s *Services) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return models.RunInTx(ctx, s.DB, fn)
}

// errNotFound is the client-facing "no such thing".
func errNotFound(what string) *problem.Error {
	return problem.New(problem.NotFound, "not_found", what+" was not found.")
}

// Close stops background work (the jobs, then the mail queue).
func (s *Services) Close() {
	s.Background.Close()
	s.Outbox.Close()
	s.Webhooks.Close()
	s.Stmts.Close()
}
