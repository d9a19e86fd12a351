package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// SealedColumn is a table column that holds values sealed with the secret
// box (security.SecretBox.Seal). Everything sealed must be listed here or
// be a settings field whose JSON name ends in "Sealed", so that `gatehouse
// key rotate` re-encrypts it and the first start can check the key; and
// whatever stores one confirms the key after its write, in the same
// transaction (storeSealed, sealedStored).
type SealedColumn struct{ Table, Key, Column string }

// SealedColumns lists the sealed table columns.
var SealedColumns = []SealedColumn{
	{"users", "id", "totp_secret"},
	{"users", "id", "totp_pending_secret"},
	{"identity_providers", "id", "client_secret_sealed"},
	{"oidc_states", "state_hash", "verifier_sealed"},
	{"mail_outbox", "id", "body"},
	{"oauth_signing_keys", "id", "private_key_sealed"},
	{"webhook_endpoints", "id", "secret"},
	{"webhook_endpoints", "id", "previous_secret"},
}

// ErrSecretKeyChanged is what an instance answers once another process
// rotated the secret key: it cannot open the secrets any more, and its
// cookies are signed with the old key.
var ErrSecretKeyChanged = &problem.Error{Kind: problem.Unavailable, Code: "secret_key_changed", RetryAfter: 30,
	Message: "This server's secret key was replaced (gatehouse key rotate); it must be restarted with the new key."}

// sealedValue is one stored secret: where it lives and its sealed text.
type sealedValue struct {
	col    SealedColumn
	key    any
	group  string // settings group, for settings fields
	field  string
	sealed string
}

func (v sealedValue) String() string {
	if v.group != "" {
		return "settings " + v.group + "." + v.field
	}
	return fmt.Sprintf("%s.%s (%s %v)", v.col.Table, v.col.Column, v.col.Key, v.key)
}

// sealedValues reads every stored secret in db.
func sealedValues(ctx context.Context, db bun.IDB) ([]sealedValue, error) {
	var out []sealedValue
	for _, c := range SealedColumns {
		rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s <> ''", c.Key, c.Column, c.Table, c.Column, c.Column))
		if err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", c.Table, c.Column, err)
		}
		for rows.Next() {
			v := sealedValue{col: c}
			var key any
			if err := rows.Scan(&key, &v.sealed); err != nil {
				rows.Close()
				return nil, err
			}
			if b, ok := key.([]byte); ok {
				key = string(b)
			}
			v.key = key
			out = append(out, v)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	var settings []models.Setting
	if err := db.NewSelect().Model(&settings).Order("group_name").Scan(ctx); err != nil {
		return nil, err
	}
	for _, s := range settings {
		fields := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(s.Value), &fields); err != nil {
			continue // not ours to judge here; the settings reader reports it
		}
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			var str string
			if strings.HasSuffix(k, "Sealed") && json.Unmarshal(fields[k], &str) == nil && str != "" {
				out = append(out, sealedValue{group: s.Group, field: k, sealed: str})
			}
		}
	}
	return out, nil
}

// CheckSecretKey makes sure box holds the key the database's secrets are
// sealed with. The first start records the key's fingerprint (after
// checking that the key opens every secret already stored, for databases
// from before fingerprints); later starts compare. A different key is
// refused with a message that says what to do.
func CheckSecretKey(ctx context.Context, db *bun.DB, box *security.SecretBox, keySource string) error {
	fp := security.KeyFingerprint(box.Key())
	stored, err := models.SecretKeyFingerprint(ctx, db)
	if err == models.ErrNotFound {
		values, err := sealedValues(ctx, db)
		if err != nil {
			return err
		}
		for _, v := range values {
			if _, err := box.Open(v.sealed); err != nil {
				return fmt.Errorf("the secret key (%s) cannot decrypt the secrets stored in this database (%s): "+
					"start with the key they were sealed with (the secret.key of the data directory the database came from, "+
					"or its GATEHOUSE_SECRET_KEY)", keySource, v)
			}
		}
		stored, err = models.RecordSecretKeyFingerprint(ctx, db, fp, time.Now().UTC())
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if stored != fp {
		return fmt.Errorf("the secret key (%s) is not the one this database uses (fingerprint %s…, database %s…). "+
			"Every instance must use the same key: copy secret.key from a running instance's data directory, or set "+
			"GATEHOUSE_SECRET_KEY to the key the others use. If the key was rotated with 'gatehouse key rotate', use the new key",
			keySource, fp[:12], stored[:min(12, len(stored))])
	}
	return nil
}

// sealedStored confirms, in the transaction that has just stored a value
// sealed with this instance's key, that the database still uses that key;
// ErrSecretKeyChanged rolls the transaction back otherwise.
//
// An instance checks the key once per request (Settings.Sync), so a
// request that passed that check just before another process ran `key
// rotate` may seal a secret with the old key and store it after the
// rotation committed: a secret no instance can open any more. The check
// comes after the write on purpose. RotateKey locks every table that
// holds secrets before it reads them, and the write holds its table
// against that lock until this transaction ends: either this transaction
// commits first and the rotation re-encrypts what it stored, or the write
// waited for the rotation to commit, and this read (a statement of its
// own, so on PostgreSQL's read committed a newer snapshot) sees the new
// fingerprint. On SQLite every write transaction is IMMEDIATE, so the two
// never overlap at all.
func (d Deps) sealedStored(ctx context.Context, tx bun.Tx) error {
	stored, err := models.SecretKeyFingerprint(ctx, tx)
	if err == models.ErrNotFound {
		return nil // before the first start recorded one (CheckSecretKey)
	}
	if err != nil {
		return err
	}
	if stored != security.KeyFingerprint(d.Box.Key()) {
		return ErrSecretKeyChanged
	}
	return nil
}

// openSealed opens a value sealed with this instance's key. When it does
// not open, it reads the database's key fingerprint: a value that another
// process re-encrypted with a new key ('gatehouse key rotate' committed
// after this request's once-per-request key check, Settings.Sync) answers
// ErrSecretKeyChanged, a 503 that says what to do, instead of an internal
// error. A value that does not open under an unchanged key is a real
// fault and keeps its error.
func (d Deps) openSealed(ctx context.Context, db bun.IDB, sealed string) (string, error) {
	plain, err := d.Box.Open(sealed)
	if err == nil {
		return plain, nil
	}
	if db == nil {
		db = d.DB
	}
	if stored, ferr := models.SecretKeyFingerprint(ctx, db); ferr == nil && stored != security.KeyFingerprint(d.Box.Key()) {
		return "", ErrSecretKeyChanged
	}
	return "", err
}

// storeSealed runs write, which stores values sealed with this instance's
// key, through db and confirms the key afterwards (sealedStored) in the
// same transaction: db's when it is one, a new one otherwise.
func (d Deps) storeSealed(ctx context.Context, db bun.IDB, write func(ctx context.Context, tx bun.Tx) error) error {
	run := func(ctx context.Context, tx bun.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		return d.sealedStored(ctx, tx)
	}
	switch db := db.(type) {
	case bun.Tx:
		return run(ctx, db)
	case *bun.DB:
		return models.RunInTx(ctx, db, run)
	default:
		return fmt.Errorf("storing a secret needs a transaction or the database, not %T", db)
	}
}

// RotatedKeys is what RotateKey did.
type RotatedKeys struct {
	Secrets int // sealed values re-encrypted
}

// RotateKey re-encrypts every stored secret from old to next and records
// the new fingerprint, in one transaction. On PostgreSQL the tables that
// hold secrets are locked against writers meanwhile; on SQLite the
// transaction is IMMEDIATE. A writer on an instance with the old key that
// stores a secret confirms the key after its write (sealedStored), so no
// secret sealed with the old key slips in after the rotation.
// Running instances see the fingerprint change on their next request
// (Settings.Sync) and refuse requests until restarted with the new key.
func RotateKey(ctx context.Context, db *bun.DB, old, next *security.SecretBox, log *slog.Logger) (RotatedKeys, error) {
	deadline := time.Now().Add(rotateLockWait)
	for {
		res, err := rotateKey(ctx, db, old, next)
		if err == nil {
			if log != nil {
				log.Info("secret key rotated", "secrets", res.Secrets)
			}
			return res, nil
		}
		if !models.LockNotAvailable(err) || time.Now().After(deadline) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(rotateRetryPause):
		}
	}
}

// On PostgreSQL the rotation waits at most rotateLockTimeout for each lock
// and starts again after rotateRetryPause when one is not to be had, for
// up to rotateLockWait in all. It never waits long holding locks, so it
// cannot deadlock with a writer that read a secret-holding row (taking a
// row lock the rotation's update waits for) and then writes to a table the
// rotation holds: the rotation gives way instead.
const (
	rotateLockTimeout = "200ms"
	rotateRetryPause  = 50 * time.Millisecond
	rotateLockWait    = 60 * time.Second
)

func rotateKey(ctx context.Context, db *bun.DB, old, next *security.SecretBox) (RotatedKeys, error) {
	var res RotatedKeys
	err := models.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		res = RotatedKeys{}
		if tx.Dialect().Name() == dialect.PG {
			if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+rotateLockTimeout+"'"); err != nil {
				return err
			}
			tables := map[string]bool{"settings": true, "secret_key": true}
			for _, c := range SealedColumns {
				tables[c.Table] = true
			}
			names := make([]string, 0, len(tables))
			for t := range tables {
				names = append(names, t)
			}
			sort.Strings(names)
			if _, err := tx.ExecContext(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		stored, err := models.SecretKeyFingerprint(ctx, tx)
		if err != nil {
			return err
		}
		if stored != security.KeyFingerprint(old.Key()) {
			return fmt.Errorf("the current secret key is not the one this database uses; rotate with the key the instances run with")
		}
		values, err := sealedValues(ctx, tx)
		if err != nil {
			return err
		}
		settings := map[string]map[string]json.RawMessage{}
		for _, v := range values {
			plain, err := old.Open(v.sealed)
			if err != nil {
				return fmt.Errorf("%s cannot be decrypted with the current key: %w", v, err)
			}
			resealed, err := next.Seal(plain)
			if err != nil {
				return err
			}
			if v.group != "" {
				if settings[v.group] == nil {
					var s models.Setting
					if err := tx.NewSelect().Model(&s).Where("group_name = ?", v.group).Scan(ctx); err != nil {
						return err
					}
					fields := map[string]json.RawMessage{}
					if err := json.Unmarshal([]byte(s.Value), &fields); err != nil {
						return err
					}
					settings[v.group] = fields
				}
				settings[v.group][v.field], _ = json.Marshal(resealed)
			} else if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", v.col.Table, v.col.Column, v.col.Key), resealed, v.key); err != nil {
				return err
			}
			res.Secrets++
		}
		now := time.Now().UTC()
		for group, fields := range settings {
			raw, err := json.Marshal(fields)
			if err != nil {
				return err
			}
			// The version moves so that an editor holding the old one gets a 409.
			if _, err := tx.NewUpdate().Model((*models.Setting)(nil)).Set("value = ?", string(raw)).Set("version = version + 1").
				Set("updated_at = ?", now).Where("group_name = ?", group).Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model((*models.SecretKeyRow)(nil)).Set("fingerprint = ?", security.KeyFingerprint(next.Key())).
			Set("rotated_at = ?", now).Where("id = 1").Exec(ctx); err != nil {
			return err
		}
		// Instances read the fingerprint with the settings counter.
		_, err = tx.ExecContext(ctx, "UPDATE settings_epoch SET n = n + 1 WHERE id = 1")
		return err
	})
	return res, err
}
