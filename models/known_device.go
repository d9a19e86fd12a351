package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// KnownDevice is a browser an account has signed in from: the hash of its
// device cookie and the browser and OS families of its user agent.
type KnownDevice struct {
	bun.BaseModel `bun:"table:known_devices,alias:kd"`

	ID          int64     `bun:"id,pk,autoincrement"`
	UserID      int64     `bun:"user_id,notnull"`
	DeviceHash  string    `bun:"device_hash,notnull"`
	Browser     string    `bun:"browser,notnull"`
	OS          string    `bun:"os,notnull"`
	FirstSeenAt time.Time `bun:"first_seen_at,notnull"`
	LastSeenAt  time.Time `bun:"last_seen_at,notnull"`
	LastIP      string    `bun:"last_ip,notnull"`
}

// TouchKnownDevice marks the device seen now and reports whether the
// account knew it.
func TouchKnownDevice(ctx context.Context, db bun.IDB, d *KnownDevice) (bool, error) {
	res, err := db.NewUpdate().Model((*KnownDevice)(nil)).
		Set("last_seen_at = ?", d.LastSeenAt).Set("last_ip = ?", d.LastIP).
		Where("user_id = ?", d.UserID).Where("device_hash = ?", d.DeviceHash).
		Where("browser = ?", d.Browser).Where("os = ?", d.OS).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// HasKnownDevices reports whether the account has signed in anywhere
// since devices were recorded.
func HasKnownDevices(ctx context.Context, db bun.IDB, userID int64) (bool, error) {
	return db.NewSelect().Model((*KnownDevice)(nil)).Where("user_id = ?", userID).Exists(ctx)
}

// AddKnownDevice records a device (a parallel sign-in that added it first
// wins; nothing changes then) and keeps the account's keep most recently
// seen devices.
func AddKnownDevice(ctx context.Context, db bun.IDB, d *KnownDevice, keep int) error {
	if _, err := db.NewInsert().Model(d).On("CONFLICT (user_id, device_hash, browser, os) DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
		return err
	}
	var old []int64
	err := db.NewSelect().Model((*KnownDevice)(nil)).Column("id").Where("user_id = ?", d.UserID).
		Order("last_seen_at DESC", "id DESC").Offset(int64(keep)).Limit(100).Scan(ctx, &old)
	if err != nil || len(old) == 0 {
		return err
	}
	_, err = db.NewDelete().Model((*KnownDevice)(nil)).Where("id IN (?)", bun.List(old)).Exec(ctx)
	return err
}
