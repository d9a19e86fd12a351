package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Service API key scopes.
const (
	ScopeUsersRead     = "users:read"
	ScopeUsersWrite    = "users:write"
	ScopeBillingRead   = "billing:read"
	ScopeBillingCharge = "billing:charge"
	ScopeAuditRead     = "audit:read"
)

// Scopes lists every scope, in the order the console shows them.
var Scopes = []string{ScopeUsersRead, ScopeUsersWrite, ScopeBillingRead, ScopeBillingCharge, ScopeAuditRead}

// Audit actions of API keys.
const (
	ActionAPIKeyCreated = "api_key.created"
	ActionAPIKeyRevoked = "api_key.revoked"
)

// APIKeyPrefix starts every service API key: "ghk_<8 chars>_<43 chars>".
const APIKeyPrefix = "ghk_"

const (
	apiKeyIDLen   = len(APIKeyPrefix) + 8 // the visible prefix
	apiKeyLen     = apiKeyIDLen + 1 + 43  // 32 random bytes, base64url
	maxAllowedIPs = 50
	// keyTouchEvery is how often a busy key's last use is written.
	keyTouchEvery = time.Minute
)

// Errors of key authentication.
var (
	ErrInvalidAPIKey  = problem.New(problem.Unauthenticated, "invalid_api_key", "The API key is unknown, expired or revoked.")
	ErrIPNotAllowed   = problem.New(problem.Forbidden, "ip_not_allowed", "The API key may not be used from this address.")
	ErrInsufficientSc = problem.New(problem.Forbidden, "insufficient_scope", "The API key lacks the scope this operation needs.")
	ErrKeyNotAllowed  = problem.New(problem.Forbidden, "api_key_not_allowed", "Service API keys cannot use this operation; it is for the console only.")
)

// APIKeys creates, lists, revokes and checks service API keys.
type APIKeys struct {
	svc *Services

	mu      sync.Mutex
	touched map[int64]time.Time  // when this instance last wrote a key's last use
	cache   map[string]cachedKey // verified keys by prefix (Authenticate)
}

// cachedKey is a key this instance verified, with the settings_epoch value
// read before it was loaded and when it was loaded.
type cachedKey struct {
	row   models.APIKey
	epoch int64
	at    time.Time
}

const (
	// keyCacheTTL bounds how long a verified key is used without reading
	// it again. Revocation does not wait for it: it moves settings_epoch
	// (a trigger, migration 20261204000031), which every request reads
	// before its key is checked, so a revoked key is refused from the next
	// request on on every instance.
	keyCacheTTL = 30 * time.Second
	// keyCacheMax bounds the cache; it is emptied when full.
	keyCacheMax = 1000
)

// NewAPIKey is what a super administrator asks for.
type NewAPIKey struct {
	Name       string
	Scopes     []string
	ExpiresAt  *time.Time
	AllowedIPs []string
}

// CreatedAPIKey is a new key with its secret, shown once.
type CreatedAPIKey struct {
	Key    *models.APIKey
	Secret string
}

// Create makes a key. Only a super administrator may.
func (k *APIKeys) Create(ctx context.Context, actor Actor, in NewAPIKey) (*CreatedAPIKey, error) {
	if err := requireSuperAdminKeys(actor); err != nil {
		return nil, err
	}
	now := k.svc.Now()
	f := problem.Fields{}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		f.Add("name", "must be 1 to 100 characters")
	}
	var scopes []string
	for _, s := range in.Scopes {
		if !slices.Contains(Scopes, s) {
			f.Add("scopes", "must each be one of users:read, users:write, billing:read, billing:charge, audit:read")
			break
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 && f["scopes"] == "" {
		f.Add("scopes", "is required")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		f.Add("expiresAt", "must be in the future")
	}
	nets, err := parseAllowedIPs(in.AllowedIPs)
	if err != nil {
		f.Add("allowedIps", err.Error())
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(scopes, func(a, b string) int { return slices.Index(Scopes, a) - slices.Index(Scopes, b) })
	id := security.NewPublicID()[:8]
	secret := APIKeyPrefix + id + "_" + security.NewToken(32)
	row := &models.APIKey{
		Name: name, Prefix: APIKeyPrefix + id, SecretHash: security.HashToken(secret),
		Scopes: strings.Join(scopes, " "), AllowedIPs: strings.Join(nets, ","), ExpiresAt: in.ExpiresAt,
		CreatedByID: &actor.User.ID, CreatedByUsername: actor.User.Username, CreatedAt: now,
	}
	if row.ExpiresAt != nil {
		t := row.ExpiresAt.UTC()
		row.ExpiresAt = &t
	}
	err = k.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := models.InsertAPIKey(ctx, tx, row); err != nil {
			return err
		}
		return k.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAPIKeyCreated, Actor: actor, Object: keyObject(row),
			Details: map[string]any{"scopes": scopes, "expiresAt": row.ExpiresAt, "allowedIps": nets}})
	})
	if err != nil {
		return nil, err
	}
	return &CreatedAPIKey{Key: row, Secret: secret}, nil
}

// List lists every key, revoked ones too.
func (k *APIKeys) List(ctx context.Context) ([]models.APIKey, error) {
	return models.ListAPIKeys(ctx, k.svc.DB)
}

// Revoke ends a key at once. Only a super administrator may.
func (k *APIKeys) Revoke(ctx context.Context, actor Actor, id int64, reason string) (*models.APIKey, error) {
	if err := requireSuperAdminKeys(actor); err != nil {
		return nil, err
	}
	var out *models.APIKey
	err := k.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := models.APIKeyByID(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return errNotFound("The API key")
		} else if err != nil {
			return err
		}
		changed, err := models.RevokeAPIKey(ctx, tx, id, actor.User.Username, k.svc.Now())
		if err != nil {
			return err
		}
		k.forget(row.Prefix)
		if changed {
			if err := k.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAPIKeyRevoked, Actor: actor, Object: keyObject(row), Reason: reason}); err != nil {
				return err
			}
		}
		out, err = models.APIKeyByID(ctx, tx, id)
		return err
	})
	if out != nil {
		k.forget(out.Prefix) // again, after the commit
	}
	return out, err
}

func (k *APIKeys) forget(prefix string) {
	k.mu.Lock()
	delete(k.cache, prefix)
	k.mu.Unlock()
}

func keyObject(k *models.APIKey) *AuditObject {
	return &AuditObject{Type: "api_key", Ref: k.Prefix, Label: k.Name}
}

func requireSuperAdminKeys(actor Actor) error {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may create or revoke API keys; administrators may read them.")
	}
	return nil
}

// parseAllowedIPs normalizes addresses and CIDRs ("10.0.0.0/8",
// "2001:db8::1"); a bare address allows itself only.
func parseAllowedIPs(in []string) ([]string, error) {
	if len(in) > maxAllowedIPs {
		return nil, errors.New("may list at most 50 addresses")
	}
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, errors.New("must be IP addresses or CIDR ranges such as 10.0.0.0/8")
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

// Authenticate resolves a bearer key used from ip. Unknown, expired and
// revoked keys are ErrInvalidAPIKey (401); a key used from an address
// outside its allow-list is ErrIPNotAllowed (403). The secret is compared
// in constant time against the stored SHA-256 (keys carry 256 random bits,
// so a slow hash adds nothing). A verified key is kept in memory (see
// keyCacheTTL: a revocation anywhere applies to the next request); expiry
// and the allow-list are checked on every request. The key's last use is
// written at most once a minute per key and instance, after the answer.
func (k *APIKeys) Authenticate(ctx context.Context, token, ip string) (*models.APIKey, error) {
	if len(token) != apiKeyLen || !strings.HasPrefix(token, APIKeyPrefix) || token[apiKeyIDLen] != '_' {
		return nil, ErrInvalidAPIKey
	}
	prefix := token[:apiKeyIDLen]
	hash := security.HashToken(token)
	now := k.svc.Now()
	// The epoch is read before the key: a revocation committed after the
	// read moves it, and the entry stored below is then not used again.
	epoch := k.svc.Settings.Epoch()
	var row *models.APIKey
	k.mu.Lock()
	if c, ok := k.cache[prefix]; ok && c.epoch == epoch && now.Sub(c.at) < keyCacheTTL && !now.Before(c.at) {
		r := c.row
		row = &r
	}
	k.mu.Unlock()
	if row == nil {
		var err error
		row, err = models.APIKeyByPrefix(ctx, k.svc.DB, prefix)
		if errors.Is(err, models.ErrNotFound) {
			return nil, ErrInvalidAPIKey
		} else if err != nil {
			return nil, err
		}
		if row.RevokedAt == nil && subtle.ConstantTimeCompare([]byte(hash), []byte(row.SecretHash)) == 1 {
			k.mu.Lock()
			if len(k.cache) >= keyCacheMax {
				clear(k.cache)
			}
			k.cache[prefix] = cachedKey{row: *row, epoch: epoch, at: now}
			k.mu.Unlock()
		}
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(row.SecretHash)) != 1 {
		return nil, ErrInvalidAPIKey
	}
	if !keyLive(row, now) {
		return nil, ErrInvalidAPIKey
	}
	if !ipAllowed(row.AllowedIPs, ip) {
		return nil, ErrIPNotAllowed
	}
	k.touch(row.ID, now)
	return row, nil
}

func (k *APIKeys) touch(id int64, now time.Time) {
	k.mu.Lock()
	last, ok := k.touched[id]
	due := !ok || now.Sub(last) >= keyTouchEvery || now.Before(last)
	if due {
		k.touched[id] = now
	}
	k.mu.Unlock()
	if due {
		k.svc.Background.Go(context.Background(), "api key last use", func(ctx context.Context) error {
			return models.TouchAPIKey(ctx, k.svc.DB, id, now, now.Add(-keyTouchEvery))
		})
	}
}

func ipAllowed(list, ip string) bool {
	if list == "" {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, s := range strings.Split(list, ",") {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// keyStillValid reads a service API key again inside a change's
// transaction, after the request authenticated with it: a revocation (or
// the end of its validity) that committed while the request waited for
// the lock refuses the change with ErrInvalidAPIKey, the answer the
// request would have had a moment later. Scopes cannot change after
// creation. On PostgreSQL the key's row is read FOR SHARE, so a
// revocation that has written but not yet committed is waited for.
func keyStillValid(ctx context.Context, db bun.IDB, id int64, now time.Time) error {
	row := new(models.APIKey)
	q := db.NewSelect().Model(row).Where("k.id = ?", id)
	if !models.IsSQLite(db) {
		// A revocation in progress holds the row: wait for it.
		q = q.For("SHARE OF k")
	}
	err := models.NotFound(q.Scan(ctx))
	if errors.Is(err, models.ErrNotFound) {
		return ErrInvalidAPIKey
	}
	if err != nil {
		return err
	}
	if !keyLive(row, now) {
		return ErrInvalidAPIKey
	}
	return nil
}

// keyLive reports whether a key is neither revoked nor expired at now.
func keyLive(row *models.APIKey, now time.Time) bool {
	return row.RevokedAt == nil && (row.ExpiresAt == nil || now.Before(*row.ExpiresAt))
}

// HasScope reports whether a key holds scope.
func HasScope(k *models.APIKey, scope string) bool {
	for _, s := range strings.Fields(k.Scopes) {
		if s == scope {
			return true
		}
	}
	return false
}

// KeyActorLabel names a key as an actor in audit rows and the ledger.
func KeyActorLabel(k *models.APIKey) string { return truncate("key:"+k.Name, 64) }
