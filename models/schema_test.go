package models_test

import (
	"context"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestSchema_EveryForeignKeyHasAnIndex: every column that references
// another table leads an index (or the primary key), so that deleting or
// re-keying the referenced row finds the rows that point to it through
// that index. Neither SQLite nor PostgreSQL makes one by itself: without
// it, each deleted row costs a scan of the referencing table (deleting
// 100,000 accounts scanned login_challenges 100,000 times).
func TestSchema_EveryForeignKeyHasAnIndex(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	db := app.Svc.DB
	query := `
WITH fks AS (
  SELECT m.name AS tbl, f."from" AS col, f."table" AS ref
  FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'),
lead AS (
  SELECT m.name AS tbl, ii.name AS col
  FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii
  WHERE m.type = 'table' AND ii.seqno = 0)
SELECT tbl, col, ref FROM fks
WHERE NOT EXISTS (SELECT 1 FROM lead WHERE lead.tbl = fks.tbl AND lead.col = fks.col)
  AND NOT EXISTS (SELECT 1 FROM pragma_table_info(fks.tbl) ti WHERE ti.name = fks.col AND ti.pk = 1)
ORDER BY tbl, col`
	if !models.IsSQLite(db) {
		query = `
SELECT c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
ORDER BY 1, 2`
	}
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var tbl, col, ref string
		if err := rows.Scan(&tbl, &col, &ref); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s.%s references %s but leads no index", tbl, col, ref)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
