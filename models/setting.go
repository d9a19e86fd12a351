package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Setting is one settings group stored as a JSON document with a version
// for optimistic concurrency.
type Setting struct {
	bun.BaseModel `bun:"table:settings,alias:st"`

	Group     string    `bun:"group_name,pk"`
	Value     string    `bun:"value,notnull"`
	Version   int64     `bun:"version,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// SettingByGroup loads one group.
func SettingByGroup(ctx context.Context, db bun.IDB, group string) (*Setting, error) {
	s := new(Setting)
	err := db.NewSelect().Model(s).Where("group_name = ?", group).Scan(ctx)
	return s, notFound(err)
}
