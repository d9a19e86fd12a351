// Command openapijson writes server/api/openapi.json from openapi.yaml. It
// runs through `go generate ./server/api` (in that directory); a test in
// server/api fails when the committed JSON is stale. It is a development
// tool, not part of the gatehouse binary.
package main

import (
	"fmt"
	"os"

	"gatehouse/internal/openapidoc"
)

func main() {
	if err := run("openapi.yaml", "openapi.json"); err != nil {
		fmt.Fprintln(os.Stderr, "openapijson:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	yaml, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	js, err := openapidoc.JSON(yaml)
	if err != nil {
		return err
	}
	return os.WriteFile(out, js, 0o644)
}
