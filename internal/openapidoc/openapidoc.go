// Package openapidoc reads the API description (server/api/openapi.yaml)
// with kin-openapi. The generator of server/api/openapi.json and the tests
// use it; the server itself only embeds the generated JSON, so that the
// binary carries no YAML or OpenAPI library and does no conversion at start.
package openapidoc

import (
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Load parses the document.
func Load(yaml []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(yaml)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// JSON converts the YAML document into the JSON the server embeds and
// serves at /api/openapi.json (indented, so that its diffs can be read;
// the server compacts it when it sets the build version).
func JSON(yaml []byte) ([]byte, error) {
	doc, err := Load(yaml)
	if err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return append(js, '\n'), nil
}
