// Package problem defines the one client-safe error type shared by the
// service layer and the HTTP layer. It imports nothing from either, so the
// service stays free of HTTP while the renderer maps kinds to statuses.
package problem

import "fmt"

// Kind classifies an error; the HTTP layer maps it to a status code.
type Kind int

// Kinds of client-visible errors.
const (
	BadRequest       Kind = iota + 1 // 400: malformed input
	Unauthenticated                  // 401
	Forbidden                        // 403
	NotFound                         // 404
	Conflict                         // 409: a rule or a concurrent change refuses it
	TooLarge                         // 413
	UnsupportedMedia                 // 415
	Invalid                          // 422: field validation
	TooManyRequests                  // 429
	Unavailable                      // 503
)

// Error is an error whose code, message and fields may be shown to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter int
	// Params are the values the message names (a count, a name), sent as
	// "params" so that a client can word the code in its own language.
	Params map[string]any
	// Extra is merged into the error object (for example an impact report).
	Extra map[string]any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// New returns an error of kind k.
func New(k Kind, code, message string) *Error { return &Error{Kind: k, Code: code, Message: message} }

// With returns e with the parameters its message names (name, value pairs).
func (e *Error) With(kv ...any) *Error {
	c := *e
	c.Params = make(map[string]any, len(e.Params)+len(kv)/2)
	for k, v := range e.Params {
		c.Params[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			c.Params[k] = kv[i+1]
		}
	}
	return &c
}

// WithField returns e with one field message attached.
func (e *Error) WithField(field, msg string) *Error {
	c := *e
	c.Fields = map[string]string{field: msg}
	return &c
}

// Fields collects per-field validation messages.
type Fields map[string]string

// Add records msg for field unless the field already has a message.
func (f Fields) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when empty, else an Invalid error carrying the fields.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "Some fields are not valid.", Fields: f}
}
