package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/oidc"
	"gatehouse/server/problem"
)

// Identity-provider audit actions.
const (
	ActionProviderCreated   = "identity_provider.created"
	ActionProviderUpdated   = "identity_provider.updated"
	ActionProviderDeleted   = "identity_provider.deleted"
	ActionProviderReordered = "identity_provider.reordered"
	// ActionProviderDiscovered records a discovery attempt (an outbound
	// request made for an administrator) and its outcome.
	ActionProviderDiscovered = "identity_provider.discovered"
)

// MaxLogoBytes caps a data: logo URL (the whole URL, as stored).
const MaxLogoBytes = 64 * 1024

// Providers manages identity providers and signs people in with them
// (see provider_signin.go for the flows).
type Providers struct {
	svc    *Services
	client *oidc.Client
}

// NewProviders builds the service; client talks to the providers.
func NewProviders(svc *Services, client *oidc.Client) *Providers {
	return &Providers{svc: svc, client: client}
}

// ProviderDetail is a provider with its decoded scopes and mapping and
// how many accounts are linked to it. The sealed secret stays inside.
type ProviderDetail struct {
	*models.IdentityProvider
	ScopeList      []string
	Mapping        oidc.Mapping
	LinkedAccounts int64
	CallbackURL    string
}

// ProviderInput creates or changes a provider; nil fields are defaults on
// create and unchanged on update. ClientSecret "" clears the secret.
type ProviderInput struct {
	Slug, Name, Type, LogoURL, ClientID, ClientSecret           *string
	IssuerURL, AuthorizationURL, TokenURL, UserinfoURL, JWKSURL *string
	Scopes                                                      *[]string
	FieldMapping                                                *oidc.Mapping
	LoginEnabled, RegistrationEnabled, AutoLinkByEmail          *bool
	DefaultRole                                                 *string
	SortOrder                                                   *int
}

// CallbackURL is where a provider sends the browser back: always under the
// configured base URL, never the request's Host.
func (s *Providers) CallbackURL(slug string) string {
	return s.svc.BaseURL + "/api/auth/oidc/" + slug + "/callback"
}

func (s *Providers) detail(ctx context.Context, db bun.IDB, p *models.IdentityProvider) (*ProviderDetail, error) {
	n, err := models.CountIdentitiesOfProvider(ctx, db, p.ID)
	if err != nil {
		return nil, err
	}
	return &ProviderDetail{IdentityProvider: p, ScopeList: decodeScopes(p.Scopes), Mapping: decodeMapping(p.FieldMapping), LinkedAccounts: n, CallbackURL: s.CallbackURL(p.Slug)}, nil
}

func decodeScopes(raw string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(raw), &out)
	if out == nil {
		out = []string{}
	}
	return out
}

func decodeMapping(raw string) oidc.Mapping {
	m := oidc.DefaultMapping
	_ = json.Unmarshal([]byte(raw), &m)
	return m
}

// List answers every provider in display order.
func (s *Providers) List(ctx context.Context) ([]ProviderDetail, error) {
	list, err := models.Providers(ctx, s.svc.DB)
	if err != nil {
		return nil, err
	}
	var counts []struct {
		ProviderID int64 `bun:"provider_id"`
		N          int64 `bun:"n"`
	}
	if err := s.svc.DB.NewSelect().Model((*models.Identity)(nil)).Column("provider_id").ColumnExpr("count(*) AS n").Group("provider_id").Scan(ctx, &counts); err != nil {
		return nil, err
	}
	byID := map[int64]int64{}
	for _, c := range counts {
		byID[c.ProviderID] = c.N
	}
	out := make([]ProviderDetail, len(list))
	for i := range list {
		p := &list[i]
		out[i] = ProviderDetail{IdentityProvider: p, ScopeList: decodeScopes(p.Scopes), Mapping: decodeMapping(p.FieldMapping), LinkedAccounts: byID[p.ID], CallbackURL: s.CallbackURL(p.Slug)}
	}
	return out, nil
}

var errProviderNotFound = errNotFound("The identity provider")

func providerInTx(ctx context.Context, db bun.IDB, id int64) (*models.IdentityProvider, error) {
	p, err := models.ProviderByID(ctx, db, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errProviderNotFound
	}
	return p, err
}

// Get answers one provider.
func (s *Providers) Get(ctx context.Context, id int64) (*ProviderDetail, error) {
	p, err := providerInTx(ctx, s.svc.DB, id)
	if err != nil {
		return nil, err
	}
	return s.detail(ctx, s.svc.DB, p)
}

// errProviderSuperAdmin refuses a provider change by anyone but a super
// administrator: a provider decides who enters which account, so whoever
// configures one could enter any account it can reach.
var errProviderSuperAdmin = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may add, change, order, discover or delete identity providers; administrators may read them.")

func requireSuperAdmin(actor Actor) error {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return errProviderSuperAdmin
	}
	return nil
}

// errAdminDefaultRole refuses the admin default role to non-super administrators.
var errAdminDefaultRole = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may make new accounts from a provider administrators.").WithField("defaultRole", "only a super administrator may choose admin")

// Create adds a provider.
func (s *Providers) Create(ctx context.Context, actor Actor, in ProviderInput) (*ProviderDetail, error) {
	if err := requireSuperAdmin(actor); err != nil {
		return nil, err
	}
	now := s.svc.Now()
	p := &models.IdentityProvider{Type: models.ProviderOIDC, LoginEnabled: true, DefaultRole: models.RoleUser, CreatedAt: now, UpdatedAt: now}
	if in.Type != nil {
		p.Type = strings.TrimSpace(*in.Type)
	}
	scopes := []string{"openid", "email", "profile"}
	if p.Type == models.ProviderOAuth2 {
		scopes = []string{}
	}
	mapping := oidc.DefaultMapping
	if in.FieldMapping == nil && p.Type == models.ProviderOAuth2 {
		mapping = oidc.Mapping{Subject: "id", Username: "login", DisplayName: "name", Email: "email"}
	}
	f, err := s.apply(p, in, scopes, mapping, true)
	if err != nil {
		return nil, err
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if p.DefaultRole == models.RoleAdmin && actor.User.Role != models.RoleSuperAdmin {
		return nil, errAdminDefaultRole
	}
	var out *ProviderDetail
	err = s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := slugFree(ctx, tx, p.Slug, 0); err != nil {
			return err
		}
		if in.SortOrder == nil {
			var maxOrder *int
			if err := tx.NewSelect().Model((*models.IdentityProvider)(nil)).ColumnExpr("max(sort_order)").Scan(ctx, &maxOrder); err != nil {
				return err
			}
			if maxOrder != nil {
				p.SortOrder = *maxOrder + 1
			}
		}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return err
		}
		if err := s.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		if err := s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionProviderCreated, Actor: actor, Object: providerObject(p), Details: map[string]any{"after": providerAudit(p)}}); err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, p)
		return err
	})
	return out, err
}

// Update changes a provider. Turning login off (or any change) is refused
// when afterwards no active administrator could sign in.
func (s *Providers) Update(ctx context.Context, actor Actor, id int64, in ProviderInput) (*ProviderDetail, error) {
	if err := requireSuperAdmin(actor); err != nil {
		return nil, err
	}
	var out *ProviderDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p, err := providerInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *p
		f, err := s.apply(p, in, decodeScopes(p.Scopes), decodeMapping(p.FieldMapping), false)
		if err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		if p.DefaultRole == models.RoleAdmin && before.DefaultRole != models.RoleAdmin && actor.User.Role != models.RoleSuperAdmin {
			return errAdminDefaultRole
		}
		// A stored secret never follows a moved destination: whoever moves
		// an endpoint must enter the secret again (or send none).
		secretCleared := false
		if in.ClientSecret == nil && p.ClientSecretSealed != "" && destinationMoved(&before, p) {
			p.ClientSecretSealed = ""
			secretCleared = true
		}
		if err := slugFree(ctx, tx, p.Slug, p.ID); err != nil {
			return err
		}
		guard, err := s.guardWaysIn(ctx, tx)
		if err != nil {
			return err
		}
		p.UpdatedAt = s.svc.Now()
		if _, err := tx.NewUpdate().Model(p).WherePK().Exec(ctx); err != nil {
			return err
		}
		// The client secret is new, or was read before and written back.
		if err := s.svc.sealedStored(ctx, tx); err != nil {
			return err
		}
		if err := guard(); err != nil {
			return err
		}
		d := map[string]any{"before": providerAudit(&before), "after": providerAudit(p)}
		if secretCleared {
			d["clientSecretCleared"] = true
		}
		if err := s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionProviderUpdated, Actor: actor, Object: providerObject(p), Details: d}); err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, p)
		return err
	})
	return out, err
}

// destinationMoved reports whether a change points the provider anywhere
// else: any URL the flows talk to or trust (issuer, authorization, token,
// userinfo, JWKS).
func destinationMoved(before, after *models.IdentityProvider) bool {
	return before.IssuerURL != after.IssuerURL || before.AuthorizationURL != after.AuthorizationURL ||
		before.TokenURL != after.TokenURL || before.UserinfoURL != after.UserinfoURL || before.JWKSURL != after.JWKSURL
}

// adminPaths counts the administrators who can sign in now.
func (s *Providers) adminPaths(ctx context.Context, tx bun.IDB) (int64, error) {
	if err := lockAdminAccess(ctx, tx); err != nil {
		return 0, err
	}
	signin, _, err := getGroup[SigninSettings](ctx, s.svc.Settings, tx, GroupSignin, false)
	if err != nil {
		return 0, err
	}
	paths, err := adminSignIn(ctx, tx, signin)
	return paths.Total, err
}

// guardAdmins refuses a change (already written in tx, which the error
// rolls back) after which no active administrator could sign in, when
// before it at least one could.
func (s *Providers) guardAdmins(ctx context.Context, tx bun.IDB, before int64) error {
	after, err := s.adminPaths(ctx, tx)
	if err != nil {
		return err
	}
	if after == 0 && before > 0 {
		return ErrNoAdminPath
	}
	return nil
}

// guardWaysIn takes, before a provider change written in tx, what the
// change must not take away, and returns the check to run after it: some
// administrator can still sign in (when one could before), and every
// active super administrator who could sign in still can.
func (s *Providers) guardWaysIn(ctx context.Context, tx bun.IDB) (func() error, error) {
	signin, _, err := getGroup[SigninSettings](ctx, s.svc.Settings, tx, GroupSignin, false)
	if err != nil {
		return nil, err
	}
	adminsBefore, err := s.adminPaths(ctx, tx)
	if err != nil {
		return nil, err
	}
	superBefore, err := SuperAdminsWithoutWayIn(ctx, tx, signin)
	if err != nil {
		return nil, err
	}
	return func() error {
		if err := s.guardAdmins(ctx, tx, adminsBefore); err != nil {
			return err
		}
		return GuardSuperAdminsWayIn(ctx, tx, signin, superBefore)
	}, nil
}

// DependentAccount is an account that can sign in only through one provider.
type DependentAccount struct {
	PublicID string `json:"publicId" bun:"public_id"`
	Username string `json:"username" bun:"username"`
	Role     string `json:"role" bun:"role"`
}

// ProviderImpact says what deleting a provider would do.
type ProviderImpact struct {
	LinkedAccounts    int64              `json:"linkedAccounts"`
	DependentAccounts []DependentAccount `json:"dependentAccounts"`
	DependentTotal    int64              `json:"dependentTotal"`
	DependentAdmins   int64              `json:"dependentAdmins"`
}

// maxDependentListed bounds the accounts listed in an impact report.
const maxDependentListed = 200

func providerImpact(ctx context.Context, db bun.IDB, providerID int64) (*ProviderImpact, error) {
	out := &ProviderImpact{DependentAccounts: []DependentAccount{}}
	var err error
	if out.LinkedAccounts, err = models.CountIdentitiesOfProvider(ctx, db, providerID); err != nil {
		return nil, err
	}
	dependent := func() *bun.SelectQuery {
		return db.NewSelect().Model((*models.User)(nil)).
			Where("EXISTS (SELECT 1 FROM user_identities AS i WHERE i.user_id = u.id AND i.provider_id = ?)", providerID).
			Where("(u.password_hash IS NULL OR u.password_hash = '')").
			Where("NOT EXISTS (SELECT 1 FROM user_identities AS o WHERE o.user_id = u.id AND o.provider_id <> ?)", providerID)
	}
	if err := dependent().Column("u.public_id", "u.username", "u.role").Order("u.username_lower").Limit(maxDependentListed).Scan(ctx, &out.DependentAccounts); err != nil {
		return nil, err
	}
	if out.DependentTotal, err = dependent().Count(ctx); err != nil {
		return nil, err
	}
	if out.DependentAdmins, err = dependent().Where("u.role IN (?)", bun.List([]string{models.RoleAdmin, models.RoleSuperAdmin})).Count(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// Impact reports what deleting a provider would do.
func (s *Providers) Impact(ctx context.Context, id int64) (*ProviderImpact, error) {
	if _, err := providerInTx(ctx, s.svc.DB, id); err != nil {
		return nil, err
	}
	return providerImpact(ctx, s.svc.DB, id)
}

// Delete removes a provider and every identity linked to it. When
// accounts are linked and confirm is false, it answers provider_in_use
// with the impact report instead; it never leaves the platform without an
// administrator able to sign in.
func (s *Providers) Delete(ctx context.Context, actor Actor, id int64, confirm bool) error {
	if err := requireSuperAdmin(actor); err != nil {
		return err
	}
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p, err := providerInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		impact, err := providerImpact(ctx, tx, id)
		if err != nil {
			return err
		}
		guard, err := s.guardWaysIn(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(p).WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := guard(); err != nil {
			return err
		}
		if impact.LinkedAccounts > 0 && !confirm {
			e := problem.New(problem.Conflict, "provider_in_use", fmt.Sprintf("%d accounts are linked to %s; %d of them can sign in only through it. Confirm to delete the provider and unlink them.", impact.LinkedAccounts, p.Name, impact.DependentTotal)).With("linked", impact.LinkedAccounts, "provider", p.Name, "dependent", impact.DependentTotal)
			e.Extra = map[string]any{"impact": impact}
			return e
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionProviderDeleted, Actor: actor, Object: providerObject(p), Details: map[string]any{
			"before": providerAudit(p), "linkedAccounts": impact.LinkedAccounts, "dependentAccounts": impact.DependentTotal, "dependentAdmins": impact.DependentAdmins}})
	})
}

// Reorder sets the display order: ids must name every provider once.
func (s *Providers) Reorder(ctx context.Context, actor Actor, ids []int64) ([]ProviderDetail, error) {
	if err := requireSuperAdmin(actor); err != nil {
		return nil, err
	}
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		list, err := models.Providers(ctx, tx)
		if err != nil {
			return err
		}
		known := map[int64]bool{}
		for _, p := range list {
			known[p.ID] = true
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			if !known[id] || seen[id] {
				return problem.Fields{"ids": "must list every provider exactly once"}.Err()
			}
			seen[id] = true
		}
		if len(seen) != len(known) {
			return problem.Fields{"ids": "must list every provider exactly once"}.Err()
		}
		before := make([]string, len(list))
		for i, p := range list {
			before[i] = p.Slug
		}
		now := s.svc.Now()
		for i, id := range ids {
			if _, err := tx.NewUpdate().Model((*models.IdentityProvider)(nil)).Set("sort_order = ?", i).Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
				return err
			}
		}
		after, err := models.Providers(ctx, tx)
		if err != nil {
			return err
		}
		slugs := make([]string, len(after))
		for i, p := range after {
			slugs[i] = p.Slug
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionProviderReordered, Actor: actor, Object: &AuditObject{Type: "identity_provider", Label: "order"}, Details: map[string]any{"before": before, "after": slugs}})
	})
	if err != nil {
		return nil, err
	}
	return s.List(ctx)
}

// Discover fetches an issuer's discovery document for a super
// administrator. A failure is a 422 discovery_failed whose reason is the
// failure class and whose message is fixed for it (nothing the remote
// server said is repeated). Every attempt is audited, with its outcome.
func (s *Providers) Discover(ctx context.Context, actor Actor, issuer string) (*oidc.Endpoints, error) {
	if err := requireSuperAdmin(actor); err != nil {
		return nil, err
	}
	f := problem.Fields{}
	issuer = strings.TrimSpace(issuer)
	validateProviderURL(f, "issuerUrl", issuer, true)
	if err := f.Err(); err != nil {
		return nil, err
	}
	ep, err := s.client.Discover(ctx, issuer)
	var de *oidc.DiscoveryError
	if err != nil && !errors.As(err, &de) {
		return nil, err
	}
	d := map[string]any{"issuerUrl": truncate(issuer, 300), "ok": err == nil}
	if de != nil {
		d["reason"] = de.Reason
		s.svc.Log.WarnContext(ctx, "provider discovery failed", "issuer", issuer, "reason", de.Reason, "err", de)
	}
	if aerr := s.svc.Audit.Write(ctx, s.svc.DB, AuditEntry{Action: ActionProviderDiscovered, Actor: actor,
		Object: &AuditObject{Type: "identity_provider", Label: issuer}, Details: d}); aerr != nil {
		return nil, aerr
	}
	if de != nil {
		return nil, &problem.Error{Kind: problem.Invalid, Code: "discovery_failed", Message: de.Message(),
			Fields: map[string]string{"issuerUrl": de.Message()}, Extra: map[string]any{"reason": de.Reason}}
	}
	return ep, nil
}

func slugFree(ctx context.Context, tx bun.IDB, slug string, except int64) error {
	taken, err := tx.NewSelect().Model((*models.IdentityProvider)(nil)).Where("slug = ?", slug).Where("id <> ?", except).Exists(ctx)
	if err != nil {
		return err
	}
	if taken {
		return problem.Fields{"slug": "is already used by another provider"}.Err()
	}
	return nil
}

func providerObject(p *models.IdentityProvider) *AuditObject {
	return &AuditObject{Type: "identity_provider", Ref: p.Slug, Label: p.Name}
}

// providerAudit is a provider as the audit log keeps it: no secret, and a
// data: logo only by its size.
func providerAudit(p *models.IdentityProvider) map[string]any {
	logo := p.LogoURL
	if strings.HasPrefix(logo, "data:") {
		logo = fmt.Sprintf("data: (%d bytes)", len(logo))
	}
	return map[string]any{
		"slug": p.Slug, "name": p.Name, "type": p.Type, "logoUrl": logo, "clientId": p.ClientID, "clientSecretSet": p.ClientSecretSealed != "",
		"issuerUrl": p.IssuerURL, "authorizationUrl": p.AuthorizationURL, "tokenUrl": p.TokenURL, "userinfoUrl": p.UserinfoURL, "jwksUrl": p.JWKSURL,
		"scopes": decodeScopes(p.Scopes), "fieldMapping": decodeMapping(p.FieldMapping), "loginEnabled": p.LoginEnabled,
		"registrationEnabled": p.RegistrationEnabled, "defaultRole": p.DefaultRole, "autoLinkByEmail": p.AutoLinkByEmail, "sortOrder": p.SortOrder,
	}
}

var (
	slugRe  = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	scopeRe = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,100}$`) // RFC 6749 scope-token
)

// apply copies in onto p and validates the result as a whole. The field
// errors come back in f; err is an internal failure (sealing).
func (s *Providers) apply(p *models.IdentityProvider, in ProviderInput, scopes []string, mapping oidc.Mapping, create bool) (problem.Fields, error) {
	f := problem.Fields{}
	trim := func(v *string, dst *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	trim(in.Slug, &p.Slug)
	trim(in.Name, &p.Name)
	trim(in.Type, &p.Type)
	trim(in.LogoURL, &p.LogoURL)
	trim(in.ClientID, &p.ClientID)
	trim(in.IssuerURL, &p.IssuerURL)
	trim(in.AuthorizationURL, &p.AuthorizationURL)
	trim(in.TokenURL, &p.TokenURL)
	trim(in.UserinfoURL, &p.UserinfoURL)
	trim(in.JWKSURL, &p.JWKSURL)
	trim(in.DefaultRole, &p.DefaultRole)
	if in.LoginEnabled != nil {
		p.LoginEnabled = *in.LoginEnabled
	}
	if in.RegistrationEnabled != nil {
		p.RegistrationEnabled = *in.RegistrationEnabled
	}
	if in.AutoLinkByEmail != nil {
		p.AutoLinkByEmail = *in.AutoLinkByEmail
	}
	if in.SortOrder != nil {
		p.SortOrder = *in.SortOrder
	}
	if in.Scopes != nil {
		scopes = *in.Scopes
	}
	if in.FieldMapping != nil {
		mapping = *in.FieldMapping
	}

	if create && in.Slug == nil {
		f.Add("slug", "is required")
	} else if !slugRe.MatchString(p.Slug) {
		f.Add("slug", "must be 1 to 40 lowercase letters, digits or dashes, not starting or ending with a dash")
	}
	if p.Name == "" || utf8.RuneCountInString(p.Name) > 100 || strings.ContainsAny(p.Name, "\r\n\x00") {
		f.Add("name", "must be 1 to 100 characters on one line")
	}
	switch p.Type {
	case models.ProviderOIDC, models.ProviderOAuth2:
	default:
		f.Add("type", "must be oidc or oauth2")
	}
	validateLogo(f, "logoUrl", p.LogoURL)
	if p.ClientID == "" || len(p.ClientID) > 255 {
		f.Add("clientId", "must be 1 to 255 characters")
	}
	if in.ClientSecret != nil {
		switch secret := *in.ClientSecret; {
		case secret == "":
			p.ClientSecretSealed = ""
		case len(secret) > 1024:
			f.Add("clientSecret", "must be at most 1024 characters")
		default:
			sealed, err := s.svc.Box.Seal(secret)
			if err != nil {
				return f, err
			}
			p.ClientSecretSealed = sealed
		}
	}
	oidcType := p.Type == models.ProviderOIDC
	validateProviderURL(f, "issuerUrl", p.IssuerURL, oidcType)
	validateProviderURL(f, "authorizationUrl", p.AuthorizationURL, true)
	validateProviderURL(f, "tokenUrl", p.TokenURL, true)
	validateProviderURL(f, "userinfoUrl", p.UserinfoURL, !oidcType)
	validateProviderURL(f, "jwksUrl", p.JWKSURL, oidcType)

	clean := []string{}
	seen := map[string]bool{}
	if oidcType {
		clean, seen["openid"] = append(clean, "openid"), true
	}
	if len(scopes) > 20 {
		f.Add("scopes", "may list at most 20 scopes")
	}
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if sc == "" || seen[sc] {
			continue
		}
		if !scopeRe.MatchString(sc) {
			f.Add("scopes", "\""+truncate(sc, 40)+"\" is not a valid scope (no spaces, quotes or backslashes)")
			continue
		}
		seen[sc] = true
		clean = append(clean, sc)
	}
	b, _ := json.Marshal(clean)
	p.Scopes = string(b)

	for _, m := range []struct {
		field, path string
		required    bool
	}{
		{"fieldMapping.subject", mapping.Subject, true}, {"fieldMapping.username", mapping.Username, false},
		{"fieldMapping.displayName", mapping.DisplayName, false}, {"fieldMapping.email", mapping.Email, false},
		{"fieldMapping.emailVerified", mapping.EmailVerified, false},
	} {
		if m.path == "" && !m.required {
			continue
		}
		if !oidc.ValidPath(m.path) {
			f.Add(m.field, "must be a claim name or a dotted path such as profile.name")
		}
	}
	b, _ = json.Marshal(mapping)
	p.FieldMapping = string(b)

	if p.DefaultRole != models.RoleUser && p.DefaultRole != models.RoleAdmin {
		f.Add("defaultRole", "must be user or admin")
	}
	if p.SortOrder < 0 || p.SortOrder > 1_000_000 {
		f.Add("sortOrder", "must be from 0 to 1000000")
	}
	return f, nil
}

// validateProviderURL accepts an absolute https URL, or http for a
// loopback host (development and tests).
func validateProviderURL(f problem.Fields, field, v string, required bool) {
	if v == "" {
		if required {
			f.Add(field, "is required")
		}
		return
	}
	u, err := url.Parse(v)
	if err != nil || len(v) > 2048 || u.Host == "" || u.User != nil || u.Fragment != "" {
		f.Add(field, "must be an absolute https URL")
		return
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return
	}
	f.Add(field, "must be an https URL (plain http only for localhost)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var logoTypes = map[string]func([]byte) bool{
	"image/png":  func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) },
	"image/jpeg": func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) },
	"image/webp": func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" },
	"image/svg+xml": func(b []byte) bool {
		return utf8.Valid(b) && bytes.Contains(bytes.ToLower(b[:min(len(b), 4096)]), []byte("<svg"))
	},
}

// validateLogo accepts an https image URL or a small data: URL whose
// declared type is PNG, JPEG, SVG or WebP and whose bytes match it.
func validateLogo(f problem.Fields, field, v string) {
	if v == "" {
		return
	}
	if !strings.HasPrefix(v, "data:") {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(v) > 2048 {
			f.Add(field, "must be an https URL or a data: image URL")
		}
		return
	}
	if len(v) > MaxLogoBytes {
		f.Add(field, "must be at most 64 KB; use a smaller image or an https URL")
		return
	}
	meta, data, ok := strings.Cut(strings.TrimPrefix(v, "data:"), ",")
	if !ok {
		f.Add(field, "is not a valid data: URL")
		return
	}
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	check, known := logoTypes[strings.ToLower(mediaType)]
	if !known {
		f.Add(field, "must be a PNG, JPEG, SVG or WebP image")
		return
	}
	var raw []byte
	var err error
	if isBase64 {
		raw, err = base64.StdEncoding.DecodeString(data)
	} else {
		var s string
		s, err = url.PathUnescape(data)
		raw = []byte(s)
	}
	if err != nil || !check(raw) {
		f.Add(field, "does not hold a "+mediaType+" image")
	}
}
