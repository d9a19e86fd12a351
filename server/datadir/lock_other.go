//go:build !unix && !windows

package datadir

import "os"

// Platforms without file locks (wasm, plan9) run without the guard.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
