package models

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// ProtectedApp is an app behind a reverse proxy that asks Gatehouse, on
// every request, whether the browser's session may pass (forward auth).
// Its hosts are rows of ProtectedAppHost; AllowedRoles is a JSON array.
type ProtectedApp struct {
	bun.BaseModel `bun:"table:protected_apps,alias:pa"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Name         string    `bun:"name,notnull"`
	AllowedRoles string    `bun:"allowed_roles,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`

	Hosts []ProtectedAppHost `bun:"rel:has-many,join:id=app_id"`
}

// ProtectedAppHost is one host (name, and port when not 80 or 443) of a
// protected app; a host belongs to one app.
type ProtectedAppHost struct {
	bun.BaseModel `bun:"table:protected_app_hosts,alias:pah"`

	Host  string `bun:"host,pk"`
	AppID int64  `bun:"app_id,notnull"`
}

// Roles decodes AllowedRoles.
func (a *ProtectedApp) Roles() []string {
	var roles []string
	_ = json.Unmarshal([]byte(a.AllowedRoles), &roles)
	return roles
}

// HostNames lists the app's hosts in order.
func (a *ProtectedApp) HostNames() []string {
	out := make([]string, len(a.Hosts))
	for i, h := range a.Hosts {
		out[i] = h.Host
	}
	return out
}

// ListProtectedApps answers every protected app with its hosts, by name.
func ListProtectedApps(ctx context.Context, db bun.IDB) ([]ProtectedApp, error) {
	var apps []ProtectedApp
	err := db.NewSelect().Model(&apps).
		Relation("Hosts", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("pah.host") }).
		Order("pa.name", "pa.id").Scan(ctx)
	return apps, err
}

// ProtectedAppByID loads one protected app with its hosts (ErrNotFound).
func ProtectedAppByID(ctx context.Context, db bun.IDB, id int64) (*ProtectedApp, error) {
	app := new(ProtectedApp)
	err := db.NewSelect().Model(app).
		Relation("Hosts", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("pah.host") }).
		Where("pa.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, notFound(err)
	}
	return app, nil
}
