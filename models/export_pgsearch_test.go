package models

// SetPGSearchWindow fixes the window for a test and returns the undo.
func SetPGSearchWindow(n int) func() {
	old := pgSearchWindowFixed
	pgSearchWindowFixed = n
	return func() { pgSearchWindowFixed = old }
}
