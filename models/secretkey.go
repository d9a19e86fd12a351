package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// SecretKeyRow is the one row (id 1) that records the fingerprint of the
// secret key the stored secrets are sealed with.
type SecretKeyRow struct {
	bun.BaseModel `bun:"table:secret_key,alias:sk"`

	ID          int64      `bun:"id,pk"`
	Fingerprint string     `bun:"fingerprint,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	RotatedAt   *time.Time `bun:"rotated_at"`
}

// SecretKeyFingerprint returns the recorded fingerprint, or ErrNotFound
// before the first start.
func SecretKeyFingerprint(ctx context.Context, db bun.IDB) (string, error) {
	row := new(SecretKeyRow)
	err := db.NewSelect().Model(row).Where("id = 1").Scan(ctx)
	return row.Fingerprint, notFound(err)
}

// RecordSecretKeyFingerprint stores fp unless a fingerprint is recorded
// already (the first of several starting instances wins), and returns the
// one recorded.
func RecordSecretKeyFingerprint(ctx context.Context, db bun.IDB, fp string, now time.Time) (string, error) {
	if _, err := db.NewInsert().Model(&SecretKeyRow{ID: 1, Fingerprint: fp, CreatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return "", err
	}
	return SecretKeyFingerprint(ctx, db)
}
