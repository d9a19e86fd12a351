package api

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// FailExportAfterChunks makes every export read fail after n chunks of
// 1,000, until the returned function restores the real read. Tests that
// use it must not run in parallel with other exports.
func FailExportAfterChunks(n int) (restore func()) {
	calls := 0
	exportChunk = 1000
	readExportChunk = func(ctx context.Context, db bun.IDB, f models.UserFilter, s models.UserSort, k *models.UserKey, limit int, now time.Time, each func(*models.ExportRow) error) (*models.UserKey, int, error) {
		calls++
		if calls > n {
			return nil, 0, errors.New("injected read failure")
		}
		return models.ExportUsersAfter(ctx, db, f, s, k, limit, now, each)
	}
	return func() { readExportChunk, exportChunk = models.ExportUsersAfter, 5000 }
}

// SetExportChunk makes exports read n accounts at a time until the
// returned function restores the size. Tests that use it must not run in
// parallel with other exports.
func SetExportChunk(n int) (restore func()) {
	old := exportChunk
	exportChunk = n
	return func() { exportChunk = old }
}

// SlowExportChunks makes exports read n accounts at a time, each chunk
// taking at least delay, and gives each chunk deadline to reach the
// client, until the returned function restores all three. Tests that use
// it must not run in parallel with other exports.
func SlowExportChunks(n int, delay, deadline time.Duration) (restore func()) {
	oldChunk, oldDeadline := exportChunk, exportChunkDeadline
	exportChunk, exportChunkDeadline = n, deadline
	readExportChunk = func(ctx context.Context, db bun.IDB, f models.UserFilter, s models.UserSort, k *models.UserKey, limit int, now time.Time, each func(*models.ExportRow) error) (*models.UserKey, int, error) {
		time.Sleep(delay)
		return models.ExportUsersAfter(ctx, db, f, s, k, limit, now, each)
	}
	return func() {
		readExportChunk, exportChunk, exportChunkDeadline = models.ExportUsersAfter, oldChunk, oldDeadline
	}
}
