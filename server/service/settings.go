package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/security"
)

// Settings reads and writes settings groups. Reads are cached so the hot
// path (every sign-in, every request's session check) does not hit the
// database. The cache follows the settings_epoch counter, which every
// change to the settings table moves (database triggers, so also changes
// made by another instance or the shell): Sync, called at the start of
// each API request, reads it (a one-row primary-key read) and drops the
// cache when it moved, so the next request on any instance sees a change.
// Reads outside a request (background work) also expire after cacheTTL.
type Settings struct {
	deps  Deps
	stmts *models.Stmts
	mu    sync.Mutex
	cache map[string]cachedSetting
	epoch int64 // the settings_epoch value the cache entries were loaded under
	// mergedJSON is each stored text's JSON merged over its group's
	// defaults (see merged); callers never change the bytes.
	mergedJSON map[mergedKey][]byte

	fingerprint string    // of this instance's secret key
	keyWarned   time.Time // when a rotated key was last logged
}

type cachedSetting struct {
	raw     []byte
	version int64
	at      time.Time
	epoch   int64
	// value is raw decoded, for groups read on every request (security);
	// only for types without slices or maps, since callers get a copy.
	value any
}

const cacheTTL = 2 * time.Second

// Sync reads the settings change counter and drops the cached groups when
// another write (from any process) moved it since they were loaded. The
// same read brings the secret key's fingerprint: once another process has
// rotated the key, Sync answers ErrSecretKeyChanged (and logs it at most
// once a minute), so this instance refuses requests instead of failing on
// secrets and cookies it can no longer open.
func (s *Settings) Sync(ctx context.Context) error {
	var n int64
	var fp sql.NullString
	if err := s.stmts.QueryRow(ctx, s.deps.DB, syncQuery, nil, &n, &fp); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n != s.epoch {
		clear(s.cache)
		s.epoch = n
	}
	if fp.Valid && s.deps.Box != nil {
		if s.fingerprint == "" {
			s.fingerprint = security.KeyFingerprint(s.deps.Box.Key())
		}
		if fp.String != s.fingerprint {
			if now := time.Now(); now.Sub(s.keyWarned) > time.Minute {
				s.keyWarned = now
				if s.deps.Log != nil {
					s.deps.Log.Error("the secret key was rotated by another process; this instance refuses requests until it is restarted with the new key")
				}
			}
			return ErrSecretKeyChanged
		}
	}
	return nil
}

// syncQuery is Sync's read, a prepared statement (every API request runs it).
const syncQuery = "SELECT n, (SELECT fingerprint FROM secret_key WHERE id = 1) FROM settings_epoch WHERE id = 1"

// Epoch is the settings_epoch value the last Sync read: configuration kept
// in memory elsewhere (protected apps) reloads when it moves.
func (s *Settings) Epoch() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// raw returns the stored JSON of a group (defaults when never saved) and its version.
func (s *Settings) raw(ctx context.Context, db bun.IDB, group string, useCache bool) ([]byte, int64, error) {
	now := time.Now()
	var epoch int64
	if useCache {
		s.mu.Lock()
		c, ok := s.cache[group]
		epoch = s.epoch
		s.mu.Unlock()
		if ok && c.epoch == epoch && now.Sub(c.at) < cacheTTL {
			return c.raw, c.version, nil
		}
	}
	g, ok := settingsGroups[group]
	if !ok {
		return nil, 0, fmt.Errorf("unknown settings group %q", group)
	}
	// The stored row, read through db (a transaction's reads see its own
	// snapshot): a prepared statement, since the account changes read
	// groups in every transaction.
	var value string
	var version int64
	err := s.stmts.QueryRow(ctx, db, settingRowQuery, []any{group}, &value, &version)
	stored := err == nil
	switch {
	case stored:
	case errors.Is(err, sql.ErrNoRows):
	default:
		return nil, 0, err
	}
	raw, err := s.merged(group, g, stored, value)
	if err != nil {
		return nil, 0, err
	}
	if useCache {
		s.mu.Lock()
		if s.epoch == epoch { // else a Sync saw a newer change meanwhile
			s.cache[group] = cachedSetting{raw: raw, version: version, at: now, epoch: epoch}
		}
		s.mu.Unlock()
	}
	return raw, version, nil
}

// settingRowQuery reads one group's stored row.
const settingRowQuery = "SELECT value, version FROM settings WHERE group_name = ?"

// mergedKey is a group's stored JSON (or its absence).
type mergedKey struct {
	group, value string
	stored       bool
}

// merged answers a group's JSON: the stored values merged over the
// defaults, so that fields added in later versions get their default. The
// result depends on the stored text alone, so it is kept per text (the
// last few texts of each group).
func (s *Settings) merged(group string, g settingsGroup, stored bool, value string) ([]byte, error) {
	key := mergedKey{group: group, value: value, stored: stored}
	s.mu.Lock()
	raw, ok := s.mergedJSON[key]
	s.mu.Unlock()
	if ok {
		return raw, nil
	}
	raw, err := json.Marshal(g.defaults())
	if err != nil {
		return nil, err
	}
	if stored {
		merged := map[string]json.RawMessage{}
		_ = json.Unmarshal(raw, &merged)
		fields := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(value), &fields); err != nil {
			return nil, fmt.Errorf("settings group %s is corrupt: %w", group, err)
		}
		for k, v := range fields {
			merged[k] = v
		}
		if raw, err = json.Marshal(merged); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if s.mergedJSON == nil || len(s.mergedJSON) >= maxMergedJSON {
		s.mergedJSON = map[mergedKey][]byte{}
	}
	s.mergedJSON[key] = raw
	s.mu.Unlock()
	return raw, nil
}

// maxMergedJSON bounds Settings.mergedJSON (emptied when full).
const maxMergedJSON = 64

func getGroup[T any](ctx context.Context, s *Settings, db bun.IDB, group string, useCache bool) (T, int64, error) {
	var v T
	raw, version, err := s.raw(ctx, db, group, useCache)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, 0, fmt.Errorf("decode settings %s: %w", group, err)
	}
	return v, version, nil
}

// save writes a group inside tx if its stored version still equals
// expectVersion, and returns the new version. A stale version is a 409.
func (s *Settings) save(ctx context.Context, tx bun.IDB, group string, value any, expectVersion int64) (int64, error) {
	raw, err := json.Marshal(value)
	if err != nil {
		return 0, err
	}
	now := s.deps.Now()
	newVersion := expectVersion + 1
	// A group may hold sealed fields (the SMTP password, the Turnstile
	// secret), sealed now or read before and written back.
	err = s.deps.storeSealed(ctx, tx, func(ctx context.Context, tx bun.Tx) error {
		var res interface{ RowsAffected() (int64, error) }
		var err error
		if expectVersion == 0 {
			res, err = tx.NewInsert().Model(&models.Setting{Group: group, Value: string(raw), Version: 1, UpdatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx)
		} else {
			res, err = tx.NewUpdate().Model((*models.Setting)(nil)).
				Set("value = ?", string(raw)).Set("version = ?", newVersion).Set("updated_at = ?", now).
				Where("group_name = ?", group).Where("version = ?", expectVersion).Exec(ctx)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return problem.New(problem.Conflict, "stale_version", "These settings were changed by someone else; reload and try again.")
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.Invalidate(group)
	return newVersion, nil
}

// Invalidate drops a cached group so the next read sees the database.
func (s *Settings) Invalidate(group string) {
	s.mu.Lock()
	delete(s.cache, group)
	s.mu.Unlock()
}

// Store replaces a group as it is, without validation or guards; only
// trusted callers (tests, the shell) use it. Admins go through Update.
func (s *Settings) Store(ctx context.Context, group string, v any) error {
	return models.RunInTx(ctx, s.deps.DB, func(ctx context.Context, tx bun.Tx) error {
		_, version, err := s.raw(ctx, tx, group, false)
		if err != nil {
			return err
		}
		_, err = s.save(ctx, tx, group, v, version)
		return err
	})
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }
