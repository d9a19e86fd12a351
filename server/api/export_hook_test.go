package api

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// FailExportAfterChunks makes every export read fail after n chunks, until
// the returned function restores the real read. Tests that use it must not
// run in parallel with other exports.
func FailExportAfterChunks(n int) (restore func()) {
	calls := 0
	readExportChunk = func(ctx context.Context, db bun.IDB, f models.UserFilter, s models.UserSort, k *models.UserKey, limit int, now time.Time) ([]models.User, error) {
		calls++
		if calls > n {
			return nil, errors.New("injected read failure")
		}
		return models.UsersAfter(ctx, db, f, s, k, limit, now)
	}
	return func() { readExportChunk = models.UsersAfter }
}
