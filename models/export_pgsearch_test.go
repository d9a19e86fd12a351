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

// SetPGSummarySegment sets the accounts per summary segment for a test
// and returns the undo.
func SetPGSummarySegment(n int) func() {
	old := pgSummarySegment
	pgSummarySegment = n
	return func() { pgSummarySegment = old }
}

// PGSummaryWalked is the number of candidate-segment runs that searches
// through the summary have walked so far, and the segments in them.
func PGSummaryWalked() (runs, segments int64) {
	return pgSummaryWalked.Load(), pgSummarySegsWalked.Load()
}

// SummaryGrams exposes summaryGrams.
var SummaryGrams = summaryGrams
