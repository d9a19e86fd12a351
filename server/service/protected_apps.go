package service

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// ProtectedApps manages the apps a reverse proxy guards with forward auth
// (their hosts and the roles that may pass) and answers, per proxied
// request, which app a host belongs to. Administrators read them; only
// super administrators change them, since they decide who reaches what.
//
// They are a list of their own rather than a kind of OpenID application:
// a protected app has hosts and no client credentials, redirect URIs or
// tokens, and forward auth looks it up by host on every request from an
// in-memory index, where an OpenID client is looked up by client ID on a
// sign-in. The console shows both under Applications.
type ProtectedApps struct {
	svc *Services

	mu    sync.Mutex
	index map[string]*ProtectedApp // by host
	epoch int64                    // the settings epoch index was loaded under
	at    time.Time
}

// ProtectedApp is a protected app as the API and forward auth see it.
type ProtectedApp struct {
	ID           int64
	Name         string
	Hosts        []string
	AllowedRoles []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Allows reports whether an account of role may pass.
func (a *ProtectedApp) Allows(role string) bool { return slices.Contains(a.AllowedRoles, role) }

func newProtectedApp(m *models.ProtectedApp) *ProtectedApp {
	return &ProtectedApp{ID: m.ID, Name: m.Name, Hosts: m.HostNames(), AllowedRoles: m.Roles(), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// maxProtectedAppHosts bounds the hosts of one app.
const maxProtectedAppHosts = 20

var errProtectedAppSuperAdmin = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may add, change or delete protected apps; administrators may read them.")

var errProtectedAppNotFound = errNotFound("The protected app")

// List answers every protected app, by name.
func (s *ProtectedApps) List(ctx context.Context) ([]ProtectedApp, error) {
	rows, err := models.ListProtectedApps(ctx, s.svc.DB)
	if err != nil {
		return nil, err
	}
	out := make([]ProtectedApp, len(rows))
	for i := range rows {
		out[i] = *newProtectedApp(&rows[i])
	}
	return out, nil
}

// Get answers one protected app.
func (s *ProtectedApps) Get(ctx context.Context, id int64) (*ProtectedApp, error) {
	m, err := models.ProtectedAppByID(ctx, s.svc.DB, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errProtectedAppNotFound
	} else if err != nil {
		return nil, err
	}
	return newProtectedApp(m), nil
}

// ProtectedAppInput creates or changes a protected app; nil fields stay
// on update.
type ProtectedAppInput struct {
	Name         *string
	Hosts        *[]string
	AllowedRoles *[]string
}

// hostLabel is one DNS label (letters, digits, dashes inside).
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeProtectedHost answers host ("name" or "name:port") in the form
// protected apps are stored and looked up in: lowercase, no trailing dot,
// no port when it is 80 or 443 (a browser's Host header leaves them out).
// ok is false for anything else: schemes, paths, user info, IPv6 literals,
// wildcards, empty labels.
func NormalizeProtectedHost(host string) (string, bool) {
	h := strings.ToLower(strings.TrimSpace(host))
	if h == "" || len(h) > 260 {
		return "", false
	}
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", false
		}
		if n == 80 || n == 443 {
			port = ""
		}
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "", false
	}
	if net.ParseIP(name) == nil || strings.Contains(name, ":") {
		for _, label := range strings.Split(name, ".") {
			if !hostLabel.MatchString(label) {
				return "", false
			}
		}
	}
	if port != "" {
		return name + ":" + port, true
	}
	return name, true
}

func (in *ProtectedAppInput) validate(create bool, covers func(string) bool) error {
	f := problem.Fields{}
	if in.Name != nil {
		v := strings.TrimSpace(*in.Name)
		in.Name = &v
		if v == "" || utf8.RuneCountInString(v) > 100 || strings.ContainsAny(v, "\r\n\t") {
			f.Add("name", "must be 1 to 100 characters on one line")
		}
	} else if create {
		f.Add("name", "is required")
	}
	if in.Hosts != nil {
		hosts := make([]string, 0, len(*in.Hosts))
		switch {
		case len(*in.Hosts) == 0:
			f.Add("hosts", "must not be empty")
		case len(*in.Hosts) > maxProtectedAppHosts:
			f.Add("hosts", "may list at most 20 hosts")
		default:
			for _, raw := range *in.Hosts {
				h, ok := NormalizeProtectedHost(raw)
				if !ok {
					f.Add("hosts", "\""+truncate(raw, 60)+"\" is not a host name like app.example.com (a port only when it is not 80 or 443)")
					break
				}
				name, _, _ := strings.Cut(h, ":")
				if covers != nil && !covers(name) {
					f.Add("hosts", "\""+h+"\" does not receive the session cookie; set the cookie domain (--cookie-domain) to a parent domain of it")
					break
				}
				if !slices.Contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
		slices.Sort(hosts)
		in.Hosts = &hosts
	} else if create {
		f.Add("hosts", "is required")
	}
	if in.AllowedRoles != nil {
		var roles []string
		for _, r := range *in.AllowedRoles {
			if !models.ValidRole(r) {
				f.Add("allowedRoles", "must be user, admin or super_admin")
				break
			}
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		if len(*in.AllowedRoles) == 0 {
			f.Add("allowedRoles", "must not be empty")
		}
		slices.SortFunc(roles, func(a, b string) int { return models.RoleRank(a) - models.RoleRank(b) })
		in.AllowedRoles = &roles
	} else if create {
		f.Add("allowedRoles", "is required")
	}
	return f.Err()
}

// setHosts replaces the hosts of app id, refusing a host another app has.
func (s *ProtectedApps) setHosts(ctx context.Context, tx bun.Tx, id int64, hosts []string) error {
	var taken []struct {
		Host string `bun:"host"`
		Name string `bun:"name"`
	}
	if err := tx.NewSelect().TableExpr("protected_app_hosts AS pah").Join("JOIN protected_apps AS pa ON pa.id = pah.app_id").
		ColumnExpr("pah.host, pa.name").Where("pah.host IN (?)", bun.List(hosts)).Where("pah.app_id <> ?", id).
		Order("pah.host").Limit(1).Scan(ctx, &taken); err != nil {
		return err
	}
	if len(taken) > 0 {
		return problem.Fields{"hosts": "\"" + taken[0].Host + "\" already belongs to the protected app " + taken[0].Name}.Err()
	}
	if _, err := tx.NewDelete().Model((*models.ProtectedAppHost)(nil)).Where("app_id = ?", id).Exec(ctx); err != nil {
		return err
	}
	rows := make([]models.ProtectedAppHost, len(hosts))
	for i, h := range hosts {
		rows[i] = models.ProtectedAppHost{Host: h, AppID: id}
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

func rolesJSON(roles []string) string {
	b, _ := json.Marshal(roles)
	return string(b)
}

// Create adds a protected app.
func (s *ProtectedApps) Create(ctx context.Context, actor Actor, in ProtectedAppInput) (*ProtectedApp, error) {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return nil, errProtectedAppSuperAdmin
	}
	if err := in.validate(true, s.svc.CookieCovers); err != nil {
		return nil, err
	}
	now := s.svc.Now()
	m := &models.ProtectedApp{Name: *in.Name, AllowedRoles: rolesJSON(*in.AllowedRoles), CreatedAt: now, UpdatedAt: now}
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			return err
		}
		if err := s.setHosts(ctx, tx, m.ID, *in.Hosts); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "protected_app.created", Actor: actor, Details: map[string]any{
			"protectedAppId": m.ID, "name": m.Name, "hosts": *in.Hosts, "allowedRoles": *in.AllowedRoles}})
	})
	if err != nil {
		return nil, err
	}
	s.forget()
	return &ProtectedApp{ID: m.ID, Name: m.Name, Hosts: *in.Hosts, AllowedRoles: *in.AllowedRoles, CreatedAt: now, UpdatedAt: now}, nil
}

// Update changes a protected app.
func (s *ProtectedApps) Update(ctx context.Context, actor Actor, id int64, in ProtectedAppInput) (*ProtectedApp, error) {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return nil, errProtectedAppSuperAdmin
	}
	if err := in.validate(false, s.svc.CookieCovers); err != nil {
		return nil, err
	}
	var out *ProtectedApp
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		m, err := models.ProtectedAppByID(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return errProtectedAppNotFound
		} else if err != nil {
			return err
		}
		before := newProtectedApp(m)
		after := *before
		if in.Name != nil {
			after.Name = *in.Name
		}
		if in.Hosts != nil {
			after.Hosts = *in.Hosts
			if err := s.setHosts(ctx, tx, id, after.Hosts); err != nil {
				return err
			}
		}
		if in.AllowedRoles != nil {
			after.AllowedRoles = *in.AllowedRoles
		}
		after.UpdatedAt = s.svc.Now()
		m.Name, m.AllowedRoles, m.UpdatedAt = after.Name, rolesJSON(after.AllowedRoles), after.UpdatedAt
		if _, err := tx.NewUpdate().Model(m).Column("name", "allowed_roles", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = &after
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "protected_app.updated", Actor: actor, Details: map[string]any{"protectedAppId": id,
			"before": map[string]any{"name": before.Name, "hosts": before.Hosts, "allowedRoles": before.AllowedRoles},
			"after":  map[string]any{"name": after.Name, "hosts": after.Hosts, "allowedRoles": after.AllowedRoles}}})
	})
	if err != nil {
		return nil, err
	}
	s.forget()
	return out, nil
}

// Delete removes a protected app: its hosts are then refused by forward
// auth (403), as any host no app names.
func (s *ProtectedApps) Delete(ctx context.Context, actor Actor, id int64) error {
	if actor.User == nil || actor.User.Role != models.RoleSuperAdmin {
		return errProtectedAppSuperAdmin
	}
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		m, err := models.ProtectedAppByID(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return errProtectedAppNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*models.ProtectedAppHost)(nil)).Where("app_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(m).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "protected_app.deleted", Actor: actor, Details: map[string]any{
			"protectedAppId": id, "name": m.Name, "hosts": m.HostNames(), "allowedRoles": m.Roles()}})
	})
	if err == nil {
		s.forget()
	}
	return err
}

// forget drops this instance's index after its own change (other
// instances see the settings epoch move).
func (s *ProtectedApps) forget() {
	s.mu.Lock()
	s.index = nil
	s.mu.Unlock()
}

// ForHost answers the protected app that host (normalized) belongs to,
// or nil. The index is reloaded when the settings epoch moved (Settings.Sync
// at the start of the request) or after cacheTTL.
func (s *ProtectedApps) ForHost(ctx context.Context, host string) (*ProtectedApp, error) {
	epoch := s.svc.Settings.Epoch()
	now := time.Now()
	s.mu.Lock()
	if s.index != nil && s.epoch == epoch && now.Sub(s.at) < cacheTTL {
		app := s.index[host]
		s.mu.Unlock()
		return app, nil
	}
	s.mu.Unlock()
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	index := make(map[string]*ProtectedApp)
	for i := range list {
		for _, h := range list[i].Hosts {
			index[h] = &list[i]
		}
	}
	s.mu.Lock()
	s.index, s.epoch, s.at = index, epoch, now
	s.mu.Unlock()
	return index[host], nil
}
