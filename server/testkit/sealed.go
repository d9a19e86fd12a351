package testkit

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/uptrace/bun"

	"gatehouse/models"
)

// Sealed is one value sealed with the secret box (security.SecretBox:
// "v1:" and base64) found in the database, and where.
type Sealed struct{ Where, Sealed string }

var sealedPattern = regexp.MustCompile(`v1:[A-Za-z0-9+/]{20,}={0,2}`)

// SealedInDatabase reads every row of every table of db and answers the
// sealed values in any of its columns, whole or inside text (settings are
// JSON documents): a sealed column that `key rotate` does not know of
// shows here too.
func SealedInDatabase(t testing.TB, db *bun.DB) []Sealed {
	t.Helper()
	ctx := context.Background()
	var tables []string
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if !models.IsSQLite(db) {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	if err := db.NewRaw(q).Scan(ctx, &tables); err != nil {
		t.Fatal(err)
	}
	var out []Sealed
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for n := 0; rows.Next(); n++ {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case string:
					text = v
				case []byte:
					text = string(v)
				default:
					continue
				}
				for _, m := range sealedPattern.FindAllString(text, -1) {
					out = append(out, Sealed{Where: fmt.Sprintf("%s.%s (row %d)", table, cols[i], n), Sealed: m})
				}
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
