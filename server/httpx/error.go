// Package httpx holds the one error renderer, request binding and
// pagination helpers shared by handlers and middleware.
package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Context keys: the request ID, and the server's logger (set by the
// logging middleware, used by Render for internal errors).
const (
	RequestIDKey = "request_id"
	LoggerKey    = "gatehouse.logger"
)

// Common errors.
var (
	ErrUnauthenticated = problem.New(problem.Unauthenticated, "unauthenticated", "Sign in to continue.")
	ErrForbidden       = problem.New(problem.Forbidden, "forbidden", "You do not have permission to do this.")
	ErrNotFound        = problem.New(problem.NotFound, "not_found", "Not found.")
)

var statusOf = map[problem.Kind]int{
	problem.BadRequest:       http.StatusBadRequest,
	problem.Unauthenticated:  http.StatusUnauthorized,
	problem.Forbidden:        http.StatusForbidden,
	problem.NotFound:         http.StatusNotFound,
	problem.Conflict:         http.StatusConflict,
	problem.TooLarge:         http.StatusRequestEntityTooLarge,
	problem.UnsupportedMedia: http.StatusUnsupportedMediaType,
	problem.Invalid:          http.StatusUnprocessableEntity,
	problem.TooManyRequests:  http.StatusTooManyRequests,
	problem.Unavailable:      http.StatusServiceUnavailable,
}

// logger is the request's logger (with its request ID), else the default.
func logger(c *gin.Context) *slog.Logger {
	if log, ok := c.Value(LoggerKey).(*slog.Logger); ok {
		return log
	}
	return slog.Default()
}

// Render writes err in the JSON error shape and aborts the request. Errors
// that are not *problem.Error are logged with the request ID and reach the
// client as a generic 500, so internal details never leak; a database that
// cannot take writes (disk full, read-only) is a 503 with Retry-After.
func Render(c *gin.Context, err error) {
	var e *problem.Error
	status := http.StatusInternalServerError
	if errors.As(err, &e) {
		if s, ok := statusOf[e.Kind]; ok {
			status = s
		}
	} else if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// The client went away; nobody reads this answer.
		e = problem.New(0, "client_closed", "The request was cancelled.")
		status = 499
	} else if models.DatabaseUnreachable(err) {
		// The database server is down, restarting or unreachable: the
		// client can retry shortly; the next query opens a new connection.
		logger(c).ErrorContext(c.Request.Context(), "database unreachable", "err", err, "request_id", c.GetString(RequestIDKey), "method", c.Request.Method, "path", c.Request.URL.Path)
		e = problem.New(problem.Unavailable, "storage_unavailable", "The server cannot reach its database right now. Nothing was changed; try again in a moment.")
		e.RetryAfter = 5
		status = statusOf[problem.Unavailable]
	} else if models.StorageUnavailable(err) {
		// Disk full, read-only or failing: the operator has to act, the
		// client can only wait. Nothing of the request was kept.
		logger(c).ErrorContext(c.Request.Context(), "storage unavailable", "err", err, "request_id", c.GetString(RequestIDKey), "method", c.Request.Method, "path", c.Request.URL.Path)
		e = problem.New(problem.Unavailable, "storage_unavailable", "The server cannot save data right now (its disk is full or read-only). Nothing was changed; try again later.")
		e.RetryAfter = 30
		status = statusOf[problem.Unavailable]
	} else {
		logger(c).ErrorContext(c.Request.Context(), "internal error", "err", err, "request_id", c.GetString(RequestIDKey), "method", c.Request.Method, "path", c.Request.URL.Path)
		e = problem.New(0, "internal_error", "Something went wrong on our side (request "+c.GetString(RequestIDKey)+").").With("requestId", c.GetString(RequestIDKey))
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := gin.H{"code": e.Code, "message": e.Message}
	if len(e.Params) > 0 {
		body["params"] = e.Params
	}
	if len(e.Fields) > 0 {
		body["fields"] = e.Fields
		body["fieldErrors"] = problem.DescribeFields(e.Fields)
	}
	for k, v := range e.Extra {
		body[k] = v
	}
	c.AbortWithStatusJSON(status, gin.H{"error": body})
}
