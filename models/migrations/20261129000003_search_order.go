package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Search in display-name order without sorting every match.
//
// On PostgreSQL the trigram expression index now joins the fields with
// chr(1) instead of a space, so that a match cannot span two fields.
//
// The display-name sort becomes case-insensitive: lower(display_name),
// then id, served by one index (it replaces the two display-name indexes).
//
// On SQLite the trigram index becomes a contentless FTS5 table whose rowid
// is not the account id but a key in display-name order: 40 bits encode the
// first eight characters of lower(display_name) (five bits each, a mapping
// that never reverses their order: space and controls, punctuation,
// digits, more punctuation, a to z, the rest of ASCII, everything beyond
// ASCII), and the low 23 bits hold the id. The index hands out matches in
// that order, so the first page of a search sorted by display name reads
// only its first few matches instead of every one; matches that share the
// eight-character prefix are put in exact order after. Accounts with ids of
// 2^23 and above are indexed under -id and are always sorted exactly. The
// view users_search_doc computes each account's document and key, for the
// triggers and for a full rebuild.
//
// A fifth column holds "\x01\x01" plus the first two characters of each
// searchable field, so one- and two-character searches (prefixes, which a
// trigram cannot serve) go through the same index.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := ddl(ctx, tx, `
DROP INDEX IF EXISTS users_display_name;
DROP INDEX IF EXISTS users_display_lower;
CREATE INDEX users_display_lower ON users (lower(display_name), id)
`); err != nil {
				return err
			}
			if tx.Dialect().Name() == dialect.PG {
				// Fields joined by chr(1), which search text never holds,
				// so that a match cannot span two fields.
				return ddl(ctx, tx, `
DROP INDEX IF EXISTS users_search_trgm;
CREATE INDEX users_search_trgm ON users USING gin ((lower(username || chr(1) || display_name || chr(1) || coalesce(email, '') || chr(1) || public_id)) gin_trgm_ops)
`)
			}
			return ddl(ctx, tx, `
DROP TRIGGER users_fts_insert;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_update;
DROP TABLE users_fts;
CREATE VIEW users_search_doc AS SELECT id,
  CASE WHEN id < 8388608 THEN (`+displayKeySQL("display_name")+`) * 8388608 + id ELSE -id END AS fts_rowid,
  username, display_name, coalesce(email, '') AS email, public_id,
  `+prefixesSQL("username", "display_name", "coalesce(email, '')", "public_id")+` AS prefixes
FROM users;
CREATE VIRTUAL TABLE users_fts USING fts5(username, display_name, email, public_id, prefixes, content='', contentless_delete=1, tokenize='trigram');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_fts (rowid, username, display_name, email, public_id, prefixes)
    SELECT fts_rowid, username, display_name, email, public_id, prefixes FROM users_search_doc WHERE id = new.id;
END;
CREATE TRIGGER users_fts_delete BEFORE DELETE ON users BEGIN
  DELETE FROM users_fts WHERE rowid = (SELECT fts_rowid FROM users_search_doc WHERE id = old.id);
END;
CREATE TRIGGER users_fts_update_before BEFORE UPDATE OF username, display_name, email, public_id ON users BEGIN
  DELETE FROM users_fts WHERE rowid = (SELECT fts_rowid FROM users_search_doc WHERE id = old.id);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF username, display_name, email, public_id ON users BEGIN
  INSERT INTO users_fts (rowid, username, display_name, email, public_id, prefixes)
    SELECT fts_rowid, username, display_name, email, public_id, prefixes FROM users_search_doc WHERE id = new.id;
END;
INSERT INTO users_fts (rowid, username, display_name, email, public_id, prefixes)
  SELECT fts_rowid, username, display_name, email, public_id, prefixes FROM users_search_doc ORDER BY fts_rowid
`)
		})
	}, nil)
}

// displayKeySQL is the 40-bit order-preserving code of the first eight
// characters of lower(col) (see above). Each character is lower-cased on
// its own (SQLite's lower() folds ASCII only, so this equals cutting up
// lower(col)), letters are tested first, and characters are compared as
// one-character strings (their byte order is their code point order):
// an earlier form called unicode(substr(lower(col))) up to seven times per
// character and made seeding a million accounts a minute slower.
func displayKeySQL(col string) string {
	var terms []string
	for i := 1; i <= 8; i++ {
		c := fmt.Sprintf("lower(substr(%s, %d, 1))", col, i)
		code := fmt.Sprintf("(CASE WHEN %[1]s BETWEEN 'a' AND 'z' THEN unicode(%[1]s) - 93 WHEN %[1]s < '!' THEN 0 WHEN %[1]s < '0' THEN 1 WHEN %[1]s <= '9' THEN 2 WHEN %[1]s < 'a' THEN 3 WHEN %[1]s < char(128) THEN 30 ELSE 31 END)", c)
		terms = append(terms, fmt.Sprintf("%s * %d", code, int64(1)<<(5*(8-i))))
	}
	return strings.Join(terms, " + ")
}

// prefixesSQL is the prefix column: for each field, two \x01 marks and its
// first two characters, lower-cased, separated by spaces.
func prefixesSQL(fields ...string) string {
	var parts []string
	for _, f := range fields {
		parts = append(parts, fmt.Sprintf("char(1, 1) || lower(substr(%s, 1, 2))", f))
	}
	return strings.Join(parts, " || ' ' || ")
}
