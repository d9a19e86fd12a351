package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Plan is a subscription plan (billing mode "period").
type Plan struct {
	bun.BaseModel `bun:"table:plans,alias:p"`

	ID         int64     `bun:"id,pk,autoincrement"`
	Name       string    `bun:"name,notnull"`
	PeriodDays int       `bun:"period_days,notnull"`
	PriceMinor int64     `bun:"price_minor,notnull"`
	Active     bool      `bun:"active,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}
