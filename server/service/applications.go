package service

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Application audit actions.
const (
	ActionAppCreated       = "application.created"
	ActionAppUpdated       = "application.updated"
	ActionAppDeleted       = "application.deleted"
	ActionAppSecretRotated = "application.secret_rotated"
	// ActionAppGrantRevoked: a person withdrew an application's consent.
	ActionAppGrantRevoked = "application.grant_revoked"
	// ActionAppConsent: a person approved or denied a consent request.
	ActionAppConsent = "application.consent"
)

// Token lifetimes: defaults and bounds, in seconds.
const (
	DefaultAccessTokenTTL  = 15 * 60
	DefaultIDTokenTTL      = 60 * 60
	DefaultRefreshTokenTTL = 30 * 24 * 3600
	MaxAccessTokenTTL      = 24 * 3600
	MaxIDTokenTTL          = 24 * 3600
	MaxRefreshTokenTTL     = 365 * 24 * 3600
	// DefaultSecretOverlap is how long a rotated client secret keeps
	// working when the rotation names no period; MaxSecretOverlap bounds it.
	DefaultSecretOverlap = 24 * 3600
	MaxSecretOverlap     = 30 * 24 * 3600
)

// Scopes the provider knows. "gatehouse" adds the namespaced claim with
// the account's role and status; offline_access asks for a refresh token.
var SupportedScopes = []string{"openid", "profile", "email", "offline_access", "gatehouse"}

// Applications manages the OAuth clients and people's consent to them.
type Applications struct {
	svc *Services
}

// ApplicationDetail is an application with its lists decoded.
type ApplicationDetail struct {
	*models.Application
	RedirectURIList   []string
	PostLogoutList    []string
	AllowedRoleList   []string
	AllowedStatusList []string
}

func appDetail(a *models.Application) *ApplicationDetail {
	return &ApplicationDetail{Application: a, RedirectURIList: decodeScopes(a.RedirectURIs), PostLogoutList: decodeScopes(a.PostLogoutRedirectURIs),
		AllowedRoleList: decodeScopes(a.AllowedRoles), AllowedStatusList: decodeScopes(a.AllowedStatuses)}
}

// ApplicationInput creates or changes an application; nil fields take the
// defaults on create and stay as they are on change. The client type is
// fixed at creation.
type ApplicationInput struct {
	Name, LogoURL, ClientType                   *string
	RedirectURIs, PostLogoutRedirectURIs        *[]string
	FirstParty                                  *bool
	AllowedRoles, AllowedStatuses               *[]string
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL *int
}

// ApplicationSecret is a client secret as its application's creator or
// rotator sees it, once.
type ApplicationSecret struct {
	ClientSecret            string
	PreviousSecretExpiresAt *time.Time
}

var errAppNotFound = errNotFound("The application")

var errAppSuperAdmin = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may add, change or delete applications or rotate their secrets; administrators may read them.")

func requireAppAdmin(actor Actor) error {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return errAppSuperAdmin
	}
	return nil
}

func appInTx(ctx context.Context, db bun.IDB, id int64) (*models.Application, error) {
	a, err := models.ApplicationByID(ctx, db, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errAppNotFound
	}
	return a, err
}

// List answers every application.
func (s *Applications) List(ctx context.Context) ([]*ApplicationDetail, error) {
	list, err := models.Applications(ctx, s.svc.DB)
	if err != nil {
		return nil, err
	}
	out := make([]*ApplicationDetail, len(list))
	for i := range list {
		out[i] = appDetail(&list[i])
	}
	return out, nil
}

// Get answers one application.
func (s *Applications) Get(ctx context.Context, id int64) (*ApplicationDetail, error) {
	a, err := appInTx(ctx, s.svc.DB, id)
	if err != nil {
		return nil, err
	}
	return appDetail(a), nil
}

// newClientSecret draws a secret (256 bits) and its stored hash.
func newClientSecret() (string, string) {
	secret := "ghs_" + security.NewToken(32)
	return secret, security.HashToken(secret)
}

// Create adds an application; a confidential one's secret is answered
// here and never again.
func (s *Applications) Create(ctx context.Context, actor Actor, in ApplicationInput) (*ApplicationDetail, *ApplicationSecret, error) {
	if err := requireAppAdmin(actor); err != nil {
		return nil, nil, err
	}
	now := s.svc.Now().UTC()
	a := &models.Application{ClientID: security.RandomString("0123456789abcdefghjkmnpqrstvwxyz", 24), ClientType: models.ClientConfidential,
		RedirectURIs: "[]", PostLogoutRedirectURIs: "[]", AllowedRoles: "[]", AllowedStatuses: `["active"]`,
		AccessTokenTTL: DefaultAccessTokenTTL, IDTokenTTL: DefaultIDTokenTTL, RefreshTokenTTL: DefaultRefreshTokenTTL, CreatedAt: now, UpdatedAt: now}
	if in.ClientType != nil {
		a.ClientType = strings.TrimSpace(*in.ClientType)
	}
	f := applyApp(a, in, true)
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	var secret *ApplicationSecret
	if a.ClientType == models.ClientConfidential {
		plain, hash := newClientSecret()
		a.SecretHash = hash
		a.SecretRotatedAt = &now
		secret = &ApplicationSecret{ClientSecret: plain}
	}
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppCreated, Actor: actor, Object: appObject(a), Details: map[string]any{"after": appAudit(a)}})
	})
	if err != nil {
		return nil, nil, err
	}
	return appDetail(a), secret, nil
}

// Update changes an application. Narrowing who may sign in (roles,
// statuses) or the redirect URIs does not end tokens already issued; the
// next refresh checks the account again.
func (s *Applications) Update(ctx context.Context, actor Actor, id int64, in ApplicationInput) (*ApplicationDetail, error) {
	if err := requireAppAdmin(actor); err != nil {
		return nil, err
	}
	var out *ApplicationDetail
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := appInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *a
		if in.ClientType != nil && strings.TrimSpace(*in.ClientType) != a.ClientType {
			return problem.Fields{"clientType": "cannot change after creation"}.Err()
		}
		if err := applyApp(a, in, false).Err(); err != nil {
			return err
		}
		a.UpdatedAt = s.svc.Now().UTC()
		if _, err := tx.NewUpdate().Model(a).WherePK().Exec(ctx); err != nil {
			return err
		}
		out = appDetail(a)
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppUpdated, Actor: actor, Object: appObject(a), Details: map[string]any{"before": appAudit(&before), "after": appAudit(a)}})
	})
	return out, err
}

// Delete removes an application with its grants and every token issued to
// it.
func (s *Applications) Delete(ctx context.Context, actor Actor, id int64) error {
	if err := requireAppAdmin(actor); err != nil {
		return err
	}
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := appInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		grants, err := tx.NewSelect().Model((*models.AppGrant)(nil)).Where("application_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(a).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppDeleted, Actor: actor, Object: appObject(a), Details: map[string]any{"before": appAudit(a), "grants": grants}})
	})
}

// RotateSecret gives a confidential application a new secret; the old one
// keeps working for overlap (0 ends it now).
func (s *Applications) RotateSecret(ctx context.Context, actor Actor, id int64, overlap *int) (*ApplicationDetail, *ApplicationSecret, error) {
	if err := requireAppAdmin(actor); err != nil {
		return nil, nil, err
	}
	seconds := DefaultSecretOverlap
	if overlap != nil {
		seconds = *overlap
	}
	if seconds < 0 || seconds > MaxSecretOverlap {
		return nil, nil, problem.Fields{"overlapSeconds": fmt.Sprintf("must be from 0 to %d (30 days)", MaxSecretOverlap)}.Err()
	}
	var out *ApplicationDetail
	var secret *ApplicationSecret
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := appInTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.ClientType != models.ClientConfidential {
			return problem.New(problem.Conflict, "public_client", "A public application has no client secret.")
		}
		now := s.svc.Now().UTC()
		plain, hash := newClientSecret()
		a.PreviousSecretHash, a.PreviousSecretExpiresAt = "", nil
		if seconds > 0 && a.SecretHash != "" {
			until := now.Add(time.Duration(seconds) * time.Second)
			a.PreviousSecretHash, a.PreviousSecretExpiresAt = a.SecretHash, &until
		}
		a.SecretHash, a.SecretRotatedAt, a.UpdatedAt = hash, &now, now
		if _, err := tx.NewUpdate().Model(a).WherePK().Exec(ctx); err != nil {
			return err
		}
		out, secret = appDetail(a), &ApplicationSecret{ClientSecret: plain, PreviousSecretExpiresAt: a.PreviousSecretExpiresAt}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppSecretRotated, Actor: actor, Object: appObject(a), Details: map[string]any{"overlapSeconds": seconds, "previousSecretExpiresAt": a.PreviousSecretExpiresAt}})
	})
	return out, secret, err
}

// CheckSecret reports whether secret is the application's current secret,
// or its previous one inside the overlap.
func CheckSecret(a *models.Application, secret string, now time.Time) bool {
	if secret == "" || a.SecretHash == "" {
		return false
	}
	h := security.HashToken(secret)
	if subtle.ConstantTimeCompare([]byte(h), []byte(a.SecretHash)) == 1 {
		return true
	}
	return a.PreviousSecretHash != "" && a.PreviousSecretExpiresAt != nil && now.Before(*a.PreviousSecretExpiresAt) &&
		subtle.ConstantTimeCompare([]byte(h), []byte(a.PreviousSecretHash)) == 1
}

func appObject(a *models.Application) *AuditObject {
	return &AuditObject{Type: "application", Ref: a.ClientID, Label: a.Name}
}

// appAudit is an application as the audit log keeps it: no secret hash.
func appAudit(a *models.Application) map[string]any {
	logo := a.LogoURL
	if strings.HasPrefix(logo, "data:") {
		logo = fmt.Sprintf("data: (%d bytes)", len(logo))
	}
	return map[string]any{
		"clientId": a.ClientID, "name": a.Name, "logoUrl": logo, "clientType": a.ClientType, "firstParty": a.FirstParty,
		"redirectUris": decodeScopes(a.RedirectURIs), "postLogoutRedirectUris": decodeScopes(a.PostLogoutRedirectURIs),
		"allowedRoles": decodeScopes(a.AllowedRoles), "allowedStatuses": decodeScopes(a.AllowedStatuses),
		"accessTokenLifetime": a.AccessTokenTTL, "idTokenLifetime": a.IDTokenTTL, "refreshTokenLifetime": a.RefreshTokenTTL,
	}
}

// applyApp copies in onto a and validates the whole.
func applyApp(a *models.Application, in ApplicationInput, create bool) problem.Fields {
	f := problem.Fields{}
	if in.Name != nil {
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.LogoURL != nil {
		a.LogoURL = strings.TrimSpace(*in.LogoURL)
	}
	if in.FirstParty != nil {
		a.FirstParty = *in.FirstParty
	}
	if in.AccessTokenTTL != nil {
		a.AccessTokenTTL = *in.AccessTokenTTL
	}
	if in.IDTokenTTL != nil {
		a.IDTokenTTL = *in.IDTokenTTL
	}
	if in.RefreshTokenTTL != nil {
		a.RefreshTokenTTL = *in.RefreshTokenTTL
	}
	if create && in.Name == nil {
		f.Add("name", "is required")
	} else if a.Name == "" || utf8.RuneCountInString(a.Name) > 100 || strings.ContainsAny(a.Name, "\r\n\x00") {
		f.Add("name", "must be 1 to 100 characters on one line")
	}
	validateLogo(f, "logoUrl", a.LogoURL)
	if a.ClientType != models.ClientPublic && a.ClientType != models.ClientConfidential {
		f.Add("clientType", "must be public or confidential")
	}
	uris := func(field string, in *[]string, dst *string, required bool) {
		if in == nil {
			if create && required {
				f.Add(field, "must list at least one URI")
			}
			return
		}
		if len(*in) > 20 {
			f.Add(field, "may list at most 20 URIs")
			return
		}
		clean := []string{}
		seen := map[string]bool{}
		for _, u := range *in {
			u = strings.TrimSpace(u)
			if seen[u] {
				continue
			}
			if !validRedirectURI(u) {
				f.Add(field, "\""+truncate(u, 60)+"\" must be an exact https URI (http only for localhost, or a private-use scheme such as com.example.app), without wildcards or a fragment")
				continue
			}
			seen[u] = true
			clean = append(clean, u)
		}
		if required && len(clean) == 0 {
			f.Add(field, "must list at least one URI")
		}
		b, _ := json.Marshal(clean)
		*dst = string(b)
	}
	uris("redirectUris", in.RedirectURIs, &a.RedirectURIs, true)
	uris("postLogoutRedirectUris", in.PostLogoutRedirectURIs, &a.PostLogoutRedirectURIs, false)
	if in.AllowedRoles != nil {
		clean := []string{}
		for _, r := range *in.AllowedRoles {
			if !models.ValidRole(r) {
				f.Add("allowedRoles", "must be user, admin or super_admin")
				break
			}
			if !contains(clean, r) {
				clean = append(clean, r)
			}
		}
		b, _ := json.Marshal(clean)
		a.AllowedRoles = string(b)
	}
	if in.AllowedStatuses != nil {
		clean := []string{}
		for _, st := range *in.AllowedStatuses {
			if st != models.StatusActive && st != models.StatusPending {
				f.Add("allowedStatuses", "must be active or pending")
				break
			}
			if !contains(clean, st) {
				clean = append(clean, st)
			}
		}
		if len(clean) == 0 {
			f.Add("allowedStatuses", "must list at least one status")
		}
		b, _ := json.Marshal(clean)
		a.AllowedStatuses = string(b)
	}
	if a.AccessTokenTTL < 60 || a.AccessTokenTTL > MaxAccessTokenTTL {
		f.Add("accessTokenLifetime", fmt.Sprintf("must be from 60 to %d", MaxAccessTokenTTL))
	}
	if a.IDTokenTTL < 60 || a.IDTokenTTL > MaxIDTokenTTL {
		f.Add("idTokenLifetime", fmt.Sprintf("must be from 60 to %d", MaxIDTokenTTL))
	}
	if a.RefreshTokenTTL != 0 && (a.RefreshTokenTTL < 300 || a.RefreshTokenTTL > MaxRefreshTokenTTL) {
		f.Add("refreshTokenLifetime", fmt.Sprintf("must be 0 (off) or from 300 to %d", MaxRefreshTokenTTL))
	}
	return f
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// validRedirectURI accepts an absolute URI without a fragment or
// wildcard: https, http only for a loopback host, or a private-use scheme
// with a dot (com.example.app:/callback, RFC 8252) for native apps.
func validRedirectURI(v string) bool {
	if v == "" || len(v) > 2048 || strings.ContainsAny(v, "*# \t\r\n") {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.User != nil {
		return false
	}
	switch {
	case u.Scheme == "https":
		return u.Host != ""
	case u.Scheme == "http":
		return isLoopback(u.Hostname())
	default:
		return strings.Contains(u.Scheme, ".")
	}
}

// AppGrantView is a person's consent to one application.
type AppGrantView struct {
	ClientID  string
	Name      string
	LogoURL   string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MyGrants lists the applications the person consented to.
func (s *Applications) MyGrants(ctx context.Context, actor Actor) ([]AppGrantView, error) {
	list, err := models.GrantsOfUser(ctx, s.svc.DB, actor.User.ID)
	if err != nil {
		return nil, err
	}
	out := make([]AppGrantView, 0, len(list))
	for _, g := range list {
		if g.Application == nil {
			continue
		}
		out = append(out, AppGrantView{ClientID: g.Application.ClientID, Name: g.Application.Name, LogoURL: g.Application.LogoURL,
			Scopes: decodeScopes(g.Scopes), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt})
	}
	return out, nil
}

// RevokeMyGrant withdraws the person's consent to an application and
// revokes every token the application holds for them.
func (s *Applications) RevokeMyGrant(ctx context.Context, actor Actor, clientID string) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := models.ApplicationByClientID(ctx, tx, clientID)
		if errors.Is(err, models.ErrNotFound) {
			return errNotFound("The grant")
		} else if err != nil {
			return err
		}
		had, err := models.DeleteGrant(ctx, tx, actor.User.ID, a.ID)
		if err != nil {
			return err
		}
		n, err := models.RevokeFamilies(ctx, tx, s.svc.Now().UTC(), "grant_revoked", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("user_id = ?", actor.User.ID).Where("application_id = ?", a.ID)
		})
		if err != nil {
			return err
		}
		if !had && n == 0 {
			return errNotFound("The grant")
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: ActionAppGrantRevoked, Actor: actor, Object: appObject(a), Details: map[string]any{"clientId": a.ClientID, "tokenFamiliesRevoked": n}})
	})
}
