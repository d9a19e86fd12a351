package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// PostgreSQL only: the display-order segment summary of the search
// (models.pgSearchBySummary; SQLite searches its FTS index).
//
// A build splits the display-name order (lower(display_name), id, the
// key of users_display_cover) into segments of about 10,000 accounts:
// user_search_segments holds each segment's lower bound, and
// user_search_grams which grams occur in the lower-cased username, email
// or display name of any account in it: every 3-character substring, and
// chr(1) followed by the first 2 characters (the 2-character texts search
// prefixes). Public IDs are left out (their random grams would fill every
// segment): a text with a character outside their alphabet cannot match
// one. The invariant the search relies on: every gram of every account is
// recorded for its segment in the current build. Extra pairs (from
// deleted or renamed accounts) only cost walking time.
//
// user_search_grams_track keeps the invariant as accounts are inserted or
// their searched fields change, and while a build is running
// (user_search_state.rebuilding) notes the changed accounts in
// user_search_changed, which the build catches up before it becomes
// current. Deletes leave their pairs. Until a build exists
// (current_build NULL: fresh and small installs) the search plans do not
// use the summary and the trigger only reads the state row.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		if db.Dialect().Name() != dialect.PG {
			return nil
		}
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, stmt := range []string{
				`CREATE TABLE IF NOT EXISTS user_search_state (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  current_build integer,
  last_build integer NOT NULL DEFAULT 0,
  rebuilding boolean NOT NULL DEFAULT false,
  built_accounts bigint NOT NULL DEFAULT 0,
  segments integer NOT NULL DEFAULT 0
)`,
				`INSERT INTO user_search_state DEFAULT VALUES ON CONFLICT DO NOTHING`,
				`CREATE TABLE IF NOT EXISTS user_search_segments (
  build integer NOT NULL,
  seg integer NOT NULL,
  lo_name text NOT NULL,
  lo_id bigint NOT NULL,
  PRIMARY KEY (build, seg)
)`,
				`CREATE INDEX IF NOT EXISTS user_search_segments_lo ON user_search_segments (build, lo_name, lo_id)`,
				`CREATE TABLE IF NOT EXISTS user_search_grams (
  build integer NOT NULL,
  gram text NOT NULL,
  seg integer NOT NULL,
  PRIMARY KEY (build, gram, seg)
)`,
				`CREATE TABLE IF NOT EXISTS user_search_changed (id bigint PRIMARY KEY)`,
				// The grams of an account's searched fields (lower-cased).
				`CREATE OR REPLACE FUNCTION user_search_grams_of(VARIADIC f text[]) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT DISTINCT g FROM (
  SELECT substr(x, i, 3) AS g FROM unnest(f) AS x, generate_series(1, length(x) - 2) AS i WHERE x IS NOT NULL
  UNION ALL
  SELECT chr(1) || left(x, 2) FROM unnest(f) AS x WHERE length(x) >= 2
) AS grams
$$`,
				// The segment of key (name, id) in build b: the last whose
				// lower bound is at or before it, else the first.
				`CREATE OR REPLACE FUNCTION user_search_seg(b integer, name text, id bigint) RETURNS integer
LANGUAGE sql STABLE AS $$
SELECT coalesce(
  (SELECT s.seg FROM user_search_segments s WHERE s.build = b AND (s.lo_name, s.lo_id) <= (name, id) ORDER BY s.lo_name DESC, s.lo_id DESC LIMIT 1),
  0)
$$`,
				`CREATE OR REPLACE FUNCTION user_search_grams_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  b integer;
  r boolean;
BEGIN
  SELECT current_build, rebuilding INTO b, r FROM user_search_state;
  IF r THEN
    INSERT INTO user_search_changed (id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  END IF;
  IF b IS NOT NULL THEN
    INSERT INTO user_search_grams (build, gram, seg)
    SELECT b, g, user_search_seg(b, lower(NEW.display_name), NEW.id)
    FROM user_search_grams_of(NEW.username_lower, NEW.email_lower, lower(NEW.display_name)) AS g
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$`,
				`DROP TRIGGER IF EXISTS user_search_grams_insert ON users`,
				`DROP TRIGGER IF EXISTS user_search_grams_update ON users`,
				`CREATE TRIGGER user_search_grams_insert AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION user_search_grams_track()`,
				`CREATE TRIGGER user_search_grams_update AFTER UPDATE OF username_lower, email_lower, display_name ON users FOR EACH ROW
WHEN (old.username_lower IS DISTINCT FROM new.username_lower OR old.email_lower IS DISTINCT FROM new.email_lower OR old.display_name IS DISTINCT FROM new.display_name)
EXECUTE FUNCTION user_search_grams_track()`,
			} {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\nin: %s", err, stmt)
				}
			}
			return nil
		})
	}, nil)
}
