package models

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the SQLite data directory and of the files in it: the database
// holds password hashes and sessions, so nobody but the server's own user
// reads it.
const (
	DataDirMode  fs.FileMode = 0o700
	DataFileMode fs.FileMode = 0o600
)

// SecureSQLiteFiles makes the directory of the database at path private
// (0700, created if missing) and the database with its -wal and -shm files
// 0600. A missing database is created empty with 0600, so that SQLite,
// which gives its -wal and -shm files the database's mode, makes those
// 0600 too. It returns one line for each mode it narrowed, for the log.
func SecureSQLiteFiles(path string) ([]string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DataDirMode); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	var changed []string
	if err := narrow(dir, "data directory", DataDirMode, &changed); err != nil {
		return changed, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, DataFileMode)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return changed, fmt.Errorf("create database: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := narrow(p, "database file", DataFileMode, &changed); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// SecureDataDir makes an existing data directory 0700 (with PostgreSQL it
// still holds the secret key). It returns the change made, for the log.
func SecureDataDir(dir string) ([]string, error) {
	var changed []string
	err := narrow(dir, "data directory", DataDirMode, &changed)
	return changed, err
}

// narrow sets the mode of p to want when it exists with another one, and
// notes the change.
func narrow(p, what string, want fs.FileMode, changed *[]string) error {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Perm() == want {
		return nil
	}
	if err := os.Chmod(p, want); err != nil {
		return fmt.Errorf("make %s %s private: %w", what, p, err)
	}
	*changed = append(*changed, fmt.Sprintf("%s %s: mode %04o narrowed to %04o", what, p, st.Mode().Perm(), want))
	return nil
}
