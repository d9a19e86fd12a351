package models

// SetPGSearchWindow sets pgSearchWindow for a test and returns the undo.
func SetPGSearchWindow(n int) func() {
	old := pgSearchWindow
	pgSearchWindow = n
	return func() { pgSearchWindow = old }
}
