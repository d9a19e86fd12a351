// Package apiclient is a Go client for the Gatehouse API that oapi-codegen
// (a go tool of this module) generates from server/api/openapi.yaml into
// client.gen.go: `go generate ./internal/apiclient`. The generated file is
// not committed (every change to the document would conflict in a
// 25,000-line file); `make check-apiclient` (CI) generates it, then builds
// and tests internal/devtools/usageclient with the `apiclient` build tag,
// so the document stays usable by real code generators.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../server/api/openapi.yaml

// The generated client imports the runtime; this keeps it in go.mod while
// client.gen.go has not been generated.
import _ "github.com/oapi-codegen/runtime"
