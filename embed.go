package main

import (
	"embed"
	"io/fs"
)

// distFS holds the built console. A fresh clone has only a placeholder file
// here; the server then answers with a "console not built" page.
//
//go:embed all:frontend/dist
var distFS embed.FS

// consoleFS is the console build rooted at its index.html.
var consoleFS = mustSub(distFS, "frontend/dist")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
