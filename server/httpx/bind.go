package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

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
	return bindJSON(c, dst, false, MaxBodyBytes)
}

// BindLargeJSON is BindJSON with a larger size cap (a batch of usage
// events).
func BindLargeJSON(c *gin.Context, dst any, limit int64) error {
	return bindJSON(c, dst, false, limit)
}

// BindOptionalJSON is BindJSON for endpoints whose body may be empty.
func BindOptionalJSON(c *gin.Context, dst any) error {
	return bindJSON(c, dst, true, MaxBodyBytes)
}

func bindJSON(c *gin.Context, dst any, allowEmpty bool, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(problem.TooLarge, "body_too_large", fmt.Sprintf("The request body is larger than %d bytes.", limit)).With("max", limit)
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
	if err := checkText(dst); err != nil {
		return err
	}
	return validate(dst)
}

// checkText refuses control characters in every string of a decoded
// body, naming each field: a NUL byte is refused by PostgreSQL text
// columns (a 500 before this check), and no field has a use for the
// others. A field named "reason" (free text typed in a multi-line box) and
// the values of a preferences object may hold line breaks and tabs; NUL
// and the other control characters never.
func checkText(dst any) error {
	f := problem.Fields{}
	walkText(reflect.ValueOf(dst), "", false, f)
	return f.Err()
}

// walkText checks the strings under v; path is the JSON path of v.
func walkText(v reflect.Value, path string, multiline bool, f problem.Fields) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, multiline, f)
		}
	case reflect.String:
		if msg := ControlText(v.String(), multiline); msg != "" && f[path] == "" {
			f.Add(fieldName(path), msg)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (json.RawMessage): not text
		}
		for i := 0; i < v.Len(); i++ {
			walkText(v.Index(i), path, multiline, f)
		}
	case reflect.Map:
		free := multiline || path == "preferences"
		iter := v.MapRange()
		for iter.Next() {
			if iter.Key().Kind() == reflect.String {
				if msg := ControlText(iter.Key().String(), false); msg != "" {
					f.Add(fieldName(path), msg)
				}
			}
			walkText(iter.Value(), path, free, f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if sf.Anonymous && name == "" {
				walkText(v.Field(i), path, multiline, f)
				continue
			}
			if name == "" {
				name = sf.Name
			}
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			walkText(v.Field(i), sub, multiline || name == "reason" || sf.Tag.Get("multiline") == "true", f)
		}
	}
}

func fieldName(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// ControlText says what is wrong with s, or "": bytes that are not UTF-8,
// C0 controls (but tab, line feed and carriage return where multiline),
// DEL and the C1 controls.
func ControlText(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8" // a query parameter; JSON strings always are
	}
	for _, r := range s {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			if r == 0 {
				return "must not contain NUL bytes"
			}
			return "must not contain control characters"
		}
	}
	return ""
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
