package models

import "time"

// SetPGSearchWindow fixes the window for a test and returns the undo.
func SetPGSearchWindow(n int) func() {
	old := pgSearchWindowFixed
	pgSearchWindowFixed = n
	return func() { pgSearchWindowFixed = old }
}

// SetTextDriveBound sets textDriveBound for a test and returns the undo.
func SetTextDriveBound(n int64) func() {
	old := textDriveBound
	textDriveBound = n
	return func() { textDriveBound = old }
}

// BookkeepingTriggers are the triggers WithBulkBookkeeping sets aside.
var BookkeepingTriggers = bookkeepingTriggers

// ForgetPGHistogram drops the cached display-name histogram (another
// test's database may have filled it).
func ForgetPGHistogram() {
	pgHistogram.Lock()
	pgHistogram.at = time.Time{}
	pgHistogram.Unlock()
}
