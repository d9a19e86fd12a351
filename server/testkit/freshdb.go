package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// EmptyDB opens a database without any migration applied: a new SQLite
// file in t.TempDir(), or a new PostgreSQL database when
// GATEHOUSE_TEST_DATABASE_URL names a server. It closes with the test.
func EmptyDB(t testing.TB) *bun.DB {
	t.Helper()
	url := ""
	if admin := os.Getenv("GATEHOUSE_TEST_DATABASE_URL"); admin != "" {
		url = freshPostgres(t, admin)
	}
	db, err := models.Open(url, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
