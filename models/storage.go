package models

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

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

// DatabaseUnreachable reports whether err says that the database server
// could not be reached or dropped the connection: refused or reset
// connections, a connection closed mid-query, PostgreSQL's connection
// exceptions (class 08), a server shutting down or starting up (57P01-03)
// or out of connections (53300). database/sql opens new connections for
// the next query, so the same process recovers when the server is back.
func DatabaseUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		code := pe.Field('C')
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_CANTOPEN
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne)
}

// LockNotAvailable reports whether err is PostgreSQL's lock_not_available
// (55P03): a lock wait ran past the transaction's lock_timeout, or a NOWAIT
// lock was taken. The transaction is rolled back and may be retried.
func LockNotAvailable(err error) bool {
	var pe pgdriver.Error
	return errors.As(err, &pe) && pe.Field('C') == "55P03"
}
