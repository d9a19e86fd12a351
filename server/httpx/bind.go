package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"gatehouse/server/problem"
)

// MaxBodyBytes caps every JSON request body.
const MaxBodyBytes = 1 << 20

// Validator is implemented by request types that check themselves and
// return every field error at once.
type Validator interface {
	Validate() error
}

// BindJSON decodes the body into dst strictly: JSON content type, size cap,
// no unknown fields, no trailing data; then runs dst.Validate when present.
// An empty body is allowed when allowEmpty is true (dst keeps zero values).
func BindJSON(c *gin.Context, dst any) error {
	return bindJSON(c, dst, false)
}

// BindOptionalJSON is BindJSON for endpoints whose body may be empty.
func BindOptionalJSON(c *gin.Context, dst any) error {
	return bindJSON(c, dst, true)
}

func bindJSON(c *gin.Context, dst any, allowEmpty bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(problem.TooLarge, "body_too_large", fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes))
		}
		return problem.New(problem.BadRequest, "bad_body", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return validate(dst)
		}
		return problem.New(problem.BadRequest, "invalid_json", "A JSON request body is required.")
	}
	// A JSON body must say so: this also stops cross-site "simple" form
	// posts (text/plain) that carry JSON.
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/json" {
		return problem.New(problem.UnsupportedMedia, "unsupported_media_type", "Send the body as application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return problem.New(problem.BadRequest, "invalid_json", "The request body holds more than one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.New(problem.BadRequest, "invalid_json", "The request body holds trailing data.")
	}
	return validate(dst)
}

func validate(dst any) error {
	if v, ok := dst.(Validator); ok {
		return v.Validate()
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return problem.New(problem.BadRequest, "invalid_json", fmt.Sprintf("The request body is not valid JSON (at byte %d).", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return problem.New(problem.BadRequest, "invalid_json", "The request body must be a JSON object.")
		}
		e := problem.New(problem.BadRequest, "invalid_type", "A field has the wrong type.")
		e.Fields = map[string]string{field: "must be " + jsonKind(typ.Type.Kind().String())}
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		e := problem.New(problem.BadRequest, "unknown_field", "The request body has a field this endpoint does not accept.")
		e.Fields = map[string]string{name: "is not accepted here"}
		return e
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.New(problem.BadRequest, "invalid_json", "The request body is truncated JSON.")
	}
	return problem.New(problem.BadRequest, "invalid_json", "The request body is not valid JSON.")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}
