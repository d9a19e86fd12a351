package models

import (
	"errors"

	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// StorageUnavailable reports whether err says that the database cannot take
// a write right now for reasons outside the request: the disk (or SQLite's
// size limit) is full, the database file or server is read-only, or the
// disk gave an I/O error. The transaction that met it was rolled back.
func StorageUnavailable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR:
			return true
		}
		return false
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		switch pe.Field('C') {
		case "53100", // disk_full
			"25006", // read_only_sql_transaction (a standby, or default_transaction_read_only)
			"58030": // io_error
			return true
		}
	}
	return false
}
