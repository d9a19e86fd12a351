package api

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// TestExportFailEnv names the environment variable that makes every CSV
// export of the process fail after that many rows (TEST ONLY). The browser
// tests set it on a server of their own to see the console report a failed
// export (frontend/e2e/export.spec.ts); `gatehouse serve` reads it at start
// and logs a warning. Nothing in a request can turn it on or change it.
const TestExportFailEnv = "GATEHOUSE_TEST_EXPORT_FAIL_AFTER"

// FailExportsAfterRows makes every export of this process read rows
// accounts in its first chunk and then fail as a failed read does (the
// file ends with the ExportFailedMarker line, the transfer is cut). TEST
// ONLY: see TestExportFailEnv. rows below 1 does nothing.
func FailExportsAfterRows(rows int) {
	if rows < 1 {
		return
	}
	exportChunk = rows
	readExportChunk = func(ctx context.Context, db bun.IDB, f models.UserFilter, s models.UserSort, k *models.UserKey, limit int, now time.Time, each func(*models.ExportRow) error) (*models.UserKey, int, error) {
		if k != nil {
			return nil, 0, errors.New("export failure injected by " + TestExportFailEnv)
		}
		return models.ExportUsersAfter(ctx, db, f, s, k, limit, now, each)
	}
}
