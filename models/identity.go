package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Identity-provider types.
const (
	ProviderOIDC   = "oidc"
	ProviderOAuth2 = "oauth2"
)

// IdentityProvider is an OIDC or plain OAuth2 provider people can sign in
// with. The client secret is stored sealed with the secret box; scopes and
// the field mapping are JSON documents.
type IdentityProvider struct {
	bun.BaseModel `bun:"table:identity_providers,alias:idp"`

	ID                  int64     `bun:"id,pk,autoincrement"`
	Slug                string    `bun:"slug,notnull"`
	Name                string    `bun:"name,notnull"`
	Type                string    `bun:"type,notnull"`
	LogoURL             string    `bun:"logo_url,notnull"`
	ClientID            string    `bun:"client_id,notnull"`
	ClientSecretSealed  string    `bun:"client_secret_sealed,notnull"`
	IssuerURL           string    `bun:"issuer_url,notnull"`
	AuthorizationURL    string    `bun:"authorization_url,notnull"`
	TokenURL            string    `bun:"token_url,notnull"`
	UserinfoURL         string    `bun:"userinfo_url,notnull"`
	JWKSURL             string    `bun:"jwks_url,notnull"`
	Scopes              string    `bun:"scopes,notnull"`        // JSON array of strings
	FieldMapping        string    `bun:"field_mapping,notnull"` // JSON object
	LoginEnabled        bool      `bun:"login_enabled,notnull"`
	RegistrationEnabled bool      `bun:"registration_enabled,notnull"`
	DefaultRole         string    `bun:"default_role,notnull"`
	AutoLinkByEmail     bool      `bun:"auto_link_by_email,notnull"`
	SortOrder           int       `bun:"sort_order,notnull"`
	CreatedAt           time.Time `bun:"created_at,notnull"`
	UpdatedAt           time.Time `bun:"updated_at,notnull"`
}

// Identity links an account to a subject at a provider. (provider, subject)
// is unique: a provider account belongs to at most one local account.
type Identity struct {
	bun.BaseModel `bun:"table:user_identities,alias:uid"`

	ID         int64  `bun:"id,pk,autoincrement"`
	ProviderID int64  `bun:"provider_id,notnull"`
	UserID     int64  `bun:"user_id,notnull"`
	Subject    string `bun:"subject,notnull"`
	Email      string `bun:"email,notnull"` // as the provider last reported it
	// EmailVerified records whether the provider said the email was
	// verified when the identity was linked.
	EmailVerified bool       `bun:"email_verified,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	LastUsedAt    *time.Time `bun:"last_used_at"`

	Provider *IdentityProvider `bun:"rel:belongs-to,join:provider_id=id"`
}

// OIDCState is a pending authorization request. It is consumed by one
// conditional delete, so a state works once.
type OIDCState struct {
	bun.BaseModel `bun:"table:oidc_states,alias:os"`

	StateHash      string    `bun:"state_hash,pk"`
	BrowserHash    string    `bun:"browser_hash,notnull"`
	ProviderID     int64     `bun:"provider_id,notnull"`
	Nonce          string    `bun:"nonce,notnull"`
	VerifierSealed string    `bun:"verifier_sealed,notnull"`
	NextPath       string    `bun:"next_path,notnull"`
	LinkUserID     *int64    `bun:"link_user_id"`
	LinkSessionID  string    `bun:"link_session_id,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	ExpiresAt      time.Time `bun:"expires_at,notnull"`
}

// ProviderByID loads a provider.
func ProviderByID(ctx context.Context, db bun.IDB, id int64) (*IdentityProvider, error) {
	p := new(IdentityProvider)
	err := db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	return p, notFound(err)
}

// ProviderBySlug loads a provider by its slug.
func ProviderBySlug(ctx context.Context, db bun.IDB, slug string) (*IdentityProvider, error) {
	p := new(IdentityProvider)
	err := db.NewSelect().Model(p).Where("slug = ?", slug).Scan(ctx)
	return p, notFound(err)
}

// Providers lists every provider in display order.
func Providers(ctx context.Context, db bun.IDB) ([]IdentityProvider, error) {
	var out []IdentityProvider
	err := db.NewSelect().Model(&out).Order("sort_order", "id").Scan(ctx)
	return out, err
}

// IdentityBySubject loads the identity of a provider subject.
func IdentityBySubject(ctx context.Context, db bun.IDB, providerID int64, subject string) (*Identity, error) {
	i := new(Identity)
	err := db.NewSelect().Model(i).Where("provider_id = ?", providerID).Where("subject = ?", subject).Scan(ctx)
	return i, notFound(err)
}

// IdentitiesOfUser lists an account's identities with their providers.
func IdentitiesOfUser(ctx context.Context, db bun.IDB, userID int64) ([]Identity, error) {
	var out []Identity
	err := db.NewSelect().Model(&out).Relation("Provider").Where("uid.user_id = ?", userID).
		Order("provider.sort_order", "uid.id").Scan(ctx)
	return out, err
}

// CountIdentitiesOfProvider counts the identities at a provider.
func CountIdentitiesOfProvider(ctx context.Context, db bun.IDB, providerID int64) (int64, error) {
	return db.NewSelect().Model((*Identity)(nil)).Where("provider_id = ?", providerID).Count(ctx)
}

// DeleteExpiredOIDCStates removes abandoned authorization requests.
func DeleteExpiredOIDCStates(ctx context.Context, db bun.IDB, now time.Time) error {
	_, err := db.NewDelete().Model((*OIDCState)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	return err
}
