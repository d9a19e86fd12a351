package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Application client types.
const (
	ClientPublic       = "public"
	ClientConfidential = "confidential"
)

// Application is an OAuth 2.0 / OpenID Connect client that signs people in
// through Gatehouse. Lists are JSON arrays of strings; lifetimes are
// seconds. The client secret is kept as a SHA-256 hash (it is 32 random
// bytes, so a slow hash adds nothing); after a rotation the previous hash
// is accepted until PreviousSecretExpiresAt.
type Application struct {
	bun.BaseModel `bun:"table:applications,alias:app"`

	ID                      int64      `bun:"id,pk,autoincrement"`
	ClientID                string     `bun:"client_id,notnull"`
	Name                    string     `bun:"name,notnull"`
	LogoURL                 string     `bun:"logo_url,notnull"`
	RedirectURIs            string     `bun:"redirect_uris,notnull"`
	PostLogoutRedirectURIs  string     `bun:"post_logout_redirect_uris,notnull"`
	ClientType              string     `bun:"client_type,notnull"`
	FirstParty              bool       `bun:"first_party,notnull"`
	AllowedRoles            string     `bun:"allowed_roles,notnull"`
	AllowedStatuses         string     `bun:"allowed_statuses,notnull"`
	AccessTokenTTL          int        `bun:"access_token_ttl,notnull"`
	IDTokenTTL              int        `bun:"id_token_ttl,notnull"`
	RefreshTokenTTL         int        `bun:"refresh_token_ttl,notnull"`
	SecretHash              string     `bun:"secret_hash,notnull"`
	PreviousSecretHash      string     `bun:"previous_secret_hash,notnull"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	SecretRotatedAt         *time.Time `bun:"secret_rotated_at"`
	CreatedAt               time.Time  `bun:"created_at,notnull"`
	UpdatedAt               time.Time  `bun:"updated_at,notnull"`
}

// Applications lists every application by name.
func Applications(ctx context.Context, db bun.IDB) ([]Application, error) {
	var out []Application
	err := db.NewSelect().Model(&out).Order("name", "id").Scan(ctx)
	return out, err
}

// ApplicationByID finds an application by its row id.
func ApplicationByID(ctx context.Context, db bun.IDB, id int64) (*Application, error) {
	a := new(Application)
	err := db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx)
	return a, notFound(err)
}

// ApplicationByClientID finds an application by its client_id.
func ApplicationByClientID(ctx context.Context, db bun.IDB, clientID string) (*Application, error) {
	a := new(Application)
	err := db.NewSelect().Model(a).Where("client_id = ?", clientID).Scan(ctx)
	return a, notFound(err)
}

// AppGrant is the consent a person gave a third-party application: the
// scopes it may ask for again without asking the person.
type AppGrant struct {
	bun.BaseModel `bun:"table:app_grants,alias:ag"`

	ID            int64     `bun:"id,pk,autoincrement"`
	UserID        int64     `bun:"user_id,notnull"`
	ApplicationID int64     `bun:"application_id,notnull"`
	Scopes        string    `bun:"scopes,notnull"` // JSON array
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`

	Application *Application `bun:"rel:belongs-to,join:application_id=id"`
}

// GrantsOfUser lists a person's grants with their applications.
func GrantsOfUser(ctx context.Context, db bun.IDB, userID int64) ([]AppGrant, error) {
	var out []AppGrant
	err := db.NewSelect().Model(&out).Relation("Application").Where("ag.user_id = ?", userID).Order("ag.updated_at DESC", "ag.id").Scan(ctx)
	return out, err
}

// GrantOf finds a person's grant to one application.
func GrantOf(ctx context.Context, db bun.IDB, userID, appID int64) (*AppGrant, error) {
	g := new(AppGrant)
	err := db.NewSelect().Model(g).Where("user_id = ?", userID).Where("application_id = ?", appID).Scan(ctx)
	return g, notFound(err)
}

// SaveGrant records (or widens to) scopes as the person's consent.
func SaveGrant(ctx context.Context, db bun.IDB, userID, appID int64, scopes string, now time.Time) error {
	_, err := db.NewInsert().Model(&AppGrant{UserID: userID, ApplicationID: appID, Scopes: scopes, CreatedAt: now, UpdatedAt: now}).
		On("CONFLICT (user_id, application_id) DO UPDATE").Set("scopes = EXCLUDED.scopes").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
	return err
}

// DeleteGrant removes a grant; false when there was none.
func DeleteGrant(ctx context.Context, db bun.IDB, userID, appID int64) (bool, error) {
	res, err := db.NewDelete().Model((*AppGrant)(nil)).Where("user_id = ?", userID).Where("application_id = ?", appID).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// OAuthAuthRequest is an authorization request in flight: the request as
// the client sent it (JSON), then who signed in and, once the code is
// issued, the code's hash. CodeUsedAt is set by the one conditional write
// that redeems the code.
type OAuthAuthRequest struct {
	bun.BaseModel `bun:"table:oauth_auth_requests,alias:oar"`

	ID            string     `bun:"id,pk"`
	ApplicationID int64      `bun:"application_id,notnull"`
	Request       string     `bun:"request,notnull"`
	UserID        *int64     `bun:"user_id"`
	SessionID     string     `bun:"session_id,notnull"`
	AuthTime      *time.Time `bun:"auth_time"`
	AMR           string     `bun:"amr,notnull"`
	Done          bool       `bun:"done,notnull"`
	CodeHash      *string    `bun:"code_hash"`
	CodeUsedAt    *time.Time `bun:"code_used_at"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	ExpiresAt     time.Time  `bun:"expires_at,notnull"`
}

// OAuthFamily is what one code exchange started: the access tokens issued
// from it (which name the family) and its chain of refresh tokens. Revoking
// the family ends them all.
type OAuthFamily struct {
	bun.BaseModel `bun:"table:oauth_token_families,alias:otf"`

	ID            string     `bun:"id,pk"`
	ApplicationID int64      `bun:"application_id,notnull"`
	UserID        int64      `bun:"user_id,notnull"`
	Scopes        string     `bun:"scopes,notnull"`
	AMR           string     `bun:"amr,notnull"`
	AuthTime      time.Time  `bun:"auth_time,notnull"`
	CodeHash      string     `bun:"code_hash,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	ExpiresAt     time.Time  `bun:"expires_at,notnull"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	RevokeReason  string     `bun:"revoke_reason,notnull"`
}

// OAuthRefreshToken is one refresh token of a family, by its hash. UsedAt
// is set by the one conditional write that rotates it.
type OAuthRefreshToken struct {
	bun.BaseModel `bun:"table:oauth_refresh_tokens,alias:ort"`

	TokenHash string     `bun:"token_hash,pk"`
	FamilyID  string     `bun:"family_id,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
}

// RevokeFamilies revokes the live families that q selects (a WHERE on
// oauth_token_families) and returns how many.
func RevokeFamilies(ctx context.Context, db bun.IDB, now time.Time, reason string, where func(*bun.UpdateQuery) *bun.UpdateQuery) (int64, error) {
	q := db.NewUpdate().Model((*OAuthFamily)(nil)).Set("revoked_at = ?", now).Set("revoke_reason = ?", reason).Where("revoked_at IS NULL")
	res, err := where(q).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RevokeFamiliesOfUsers revokes every app token of the accounts ids: what
// ending all of an account's sessions does to the applications too.
func RevokeFamiliesOfUsers(ctx context.Context, db bun.IDB, ids []int64, now time.Time, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := RevokeFamilies(ctx, db, now, reason, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if IsSQLite(db) {
			return q.Where("user_id IN (SELECT value FROM json_each(?))", idsJSON(ids))
		}
		return q.Where("user_id IN (?)", bun.List(ids))
	})
	return err
}

// SigningKey is a key the provider signs ID tokens with. The active key
// has no RetiredAt; a retired key stays published (JWKS) until ExpiresAt,
// when every token it signed has expired.
type SigningKey struct {
	bun.BaseModel `bun:"table:oauth_signing_keys,alias:osk"`

	ID               string     `bun:"id,pk"`
	Algorithm        string     `bun:"algorithm,notnull"`
	PrivateKeySealed string     `bun:"private_key_sealed,notnull"`
	PublicJWK        string     `bun:"public_jwk,notnull"`
	CreatedAt        time.Time  `bun:"created_at,notnull"`
	RetiredAt        *time.Time `bun:"retired_at"`
	ExpiresAt        *time.Time `bun:"expires_at"`
}

// PublishedKeys answers the active key and the retired keys still
// published at now, newest first.
func PublishedKeys(ctx context.Context, db bun.IDB, now time.Time) ([]SigningKey, error) {
	var out []SigningKey
	err := db.NewSelect().Model(&out).Where("retired_at IS NULL OR expires_at > ?", now).Order("created_at DESC", "id").Scan(ctx)
	return out, err
}
