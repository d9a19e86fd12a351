package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// userCopyColumns are the columns BulkLoadUsersPG writes, in the order of
// appendUserCopyRow (every column of User but the id, which the sequence
// gives).
const userCopyColumns = "public_id, username, username_lower, display_name, email, email_lower, email_verified_at, email_vouched, " +
	"phone, language, timezone, preferences, role, status, status_reason, password_hash, password_changed_at, must_change_password, " +
	"totp_secret, totp_pending_secret, totp_enabled_at, totp_last_step, passkey_count, failed_logins, locked_until, sign_in_attempt_at, balance, plan_id, " +
	"subscription_expires_at, last_login_at, last_login_ip, created_at, updated_at"

// BulkLoadUsersPG adds accounts to the users table on PostgreSQL as a bulk
// load, in one transaction on conn: the table's secondary indexes (those
// that back no constraint) are dropped and its row triggers disabled, the
// rows are streamed with COPY ... FROM STDIN (next fills a batch of up to
// cap(users) accounts given how many are done, and returns an empty batch
// at the end), then the indexes are recreated from their own definitions
// (pg_get_indexdef), the triggers enabled again, user_counts (which the
// insert trigger keeps) recomputed, and the table analyzed. The
// transaction holds the table's lock throughout; a failure or a cancel
// rolls everything back, definitions included. The connection needs a
// read timeout longer than the index builds (see LongStatements).
func BulkLoadUsersPG(ctx context.Context, conn bun.Conn, users []User, next func(users []User, done int) []User, progress func(done int)) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck
		}
	}()
	// Index builds sort in memory up to this much, then on disk.
	if _, err := conn.ExecContext(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	var defs [][2]string
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'users'::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY i.indexrelid`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var d [2]string
		if err := rows.Scan(&d[0], &d[1]); err != nil {
			rows.Close()
			return err
		}
		defs = append(defs, d)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// pg_get_indexdef leaves out the indexes' own statistics targets
	// (users_display_cover's key has 1,000, whose histogram the search
	// reads): they are set again after the rebuild.
	var targets []string
	if err := conn.NewRaw(`SELECT format('ALTER INDEX %I ALTER COLUMN %s SET STATISTICS %s', c.relname, a.attnum, a.attstattarget)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = i.indexrelid
WHERE i.indrelid = 'users'::regclass AND a.attstattarget >= 0 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname, a.attnum`).Scan(ctx, &targets); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	for _, d := range defs {
		if _, err := conn.ExecContext(ctx, "DROP INDEX "+quoteIdent(d[0])); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, "ALTER TABLE users DISABLE TRIGGER USER"); err != nil {
		return err
	}

	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 0, 1<<20)
		done := 0
		for {
			users = next(users, done)
			if len(users) == 0 {
				break
			}
			for i := range users {
				buf = appendUserCopyRow(buf, &users[i])
			}
			if _, err := pw.Write(buf); err != nil {
				return // the COPY failed; its error is returned below
			}
			buf = buf[:0]
			done += len(users)
			if progress != nil {
				progress(done)
			}
		}
		pw.Close()
	}()
	_, err = pgdriver.CopyFrom(ctx, conn, pr, "COPY users ("+userCopyColumns+") FROM STDIN")
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the COPY ended early
	if err != nil {
		return fmt.Errorf("copy accounts: %w", err)
	}

	for _, d := range defs {
		if _, err := conn.ExecContext(ctx, d[1]); err != nil {
			return fmt.Errorf("recreate index %s: %w", d[0], err)
		}
	}
	for _, stmt := range targets {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	for _, stmt := range []string{
		"ALTER TABLE users ENABLE TRIGGER USER",
		`DELETE FROM user_counts`,
		`INSERT INTO user_counts (role, status, n) SELECT role, status, count(*) FROM users GROUP BY role, status`,
		"ANALYZE users",
		// The trigger that keeps the search summary was set aside: the
		// search plans without it until it is built again (the seed
		// builds it after the load, models.BuildSearchSummary).
		"UPDATE user_search_state SET current_build = NULL, segments = 0, built_accounts = 0",
		"COMMIT",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// LongStatements returns a PostgreSQL URL whose connections wait up to d
// for an answer (pgdriver's read timeout, 10 s by default, would end an
// index build on a large table), unless the URL sets its own.
func LongStatements(databaseURL string, d time.Duration) string {
	if strings.Contains(databaseURL, "read_timeout=") || strings.Contains(databaseURL, "&timeout=") || strings.Contains(databaseURL, "?timeout=") {
		return databaseURL
	}
	sep := "?"
	if strings.Contains(databaseURL, "?") {
		sep = "&"
	}
	return databaseURL + sep + "read_timeout=" + strconv.Itoa(int(d.Seconds()))
}

// appendUserCopyRow appends u as one line of COPY's text format, in the
// order of userCopyColumns.
func appendUserCopyRow(b []byte, u *User) []byte {
	b = copyText(b, u.PublicID)
	b = copyText(append(b, '\t'), u.Username)
	b = copyText(append(b, '\t'), u.UsernameLower)
	b = copyText(append(b, '\t'), u.DisplayName)
	b = copyTextPtr(append(b, '\t'), u.Email)
	b = copyTextPtr(append(b, '\t'), u.EmailLower)
	b = copyTime(append(b, '\t'), u.EmailVerifiedAt)
	b = copyBool(append(b, '\t'), u.EmailVouched)
	b = copyText(append(b, '\t'), u.Phone)
	b = copyText(append(b, '\t'), u.Language)
	b = copyText(append(b, '\t'), u.Timezone)
	b = copyText(append(b, '\t'), u.Preferences)
	b = copyText(append(b, '\t'), u.Role)
	b = copyText(append(b, '\t'), u.Status)
	b = copyText(append(b, '\t'), u.StatusReason)
	b = copyTextPtr(append(b, '\t'), u.PasswordHash)
	b = copyTime(append(b, '\t'), u.PasswordChangedAt)
	b = copyBool(append(b, '\t'), u.MustChangePassword)
	b = copyTextPtr(append(b, '\t'), u.TOTPSecret)
	b = copyTextPtr(append(b, '\t'), u.TOTPPendingSecret)
	b = copyTime(append(b, '\t'), u.TOTPEnabledAt)
	b = strconv.AppendInt(append(b, '\t'), u.TOTPLastStep, 10)
	b = strconv.AppendInt(append(b, '\t'), int64(u.PasskeyCount), 10)
	b = strconv.AppendInt(append(b, '\t'), int64(u.FailedLogins), 10)
	b = copyTime(append(b, '\t'), u.LockedUntil)
	b = copyTime(append(b, '\t'), u.SignInAttemptAt)
	b = strconv.AppendInt(append(b, '\t'), u.Balance, 10)
	if u.PlanID == nil {
		b = append(b, "\t\\N"...)
	} else {
		b = strconv.AppendInt(append(b, '\t'), *u.PlanID, 10)
	}
	b = copyTime(append(b, '\t'), u.SubscriptionExpiresAt)
	b = copyTime(append(b, '\t'), u.LastLoginAt)
	b = copyText(append(b, '\t'), u.LastLoginIP)
	b = copyTime(append(b, '\t'), &u.CreatedAt)
	b = copyTime(append(b, '\t'), &u.UpdatedAt)
	return append(b, '\n')
}

// copyText appends s escaped for COPY's text format.
func copyText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func copyTextPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, `\N`...)
	}
	return copyText(b, *s)
}

// copyTime writes a time as bun does for the timestamp (without time
// zone) columns: in UTC, to the microsecond.
func copyTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, `\N`...)
	}
	return t.UTC().AppendFormat(b, "2006-01-02 15:04:05.999999")
}

func copyBool(b []byte, v bool) []byte {
	if v {
		return append(b, 't')
	}
	return append(b, 'f')
}
