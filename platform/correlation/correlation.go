// Package correlation carries the IDs that tie one piece of work together
// across HTTP requests and messages: the correlation ID (the whole
// conversation) and the causation ID (the message that caused this work).
// The W3C trace context travels through OpenTelemetry (platform/telemetry).
package correlation

import (
	"context"
	"regexp"
)

type key int

const (
	correlationKey key = iota
	causationKey
)

// Header is the HTTP header that carries the correlation ID.
const Header = "X-Correlation-ID"

var valid = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Valid reports whether id is acceptable as a correlation ID from outside:
// 1 to 128 characters of letters, digits and ._:- so it is safe in logs and headers.
func Valid(id string) bool { return valid.MatchString(id) }

// With returns ctx carrying correlation ID id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// ID returns the correlation ID in ctx, or "".
func ID(ctx context.Context) string { s, _ := ctx.Value(correlationKey).(string); return s }

// WithCausation returns ctx recording that the work in it was caused by message id.
func WithCausation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, causationKey, id)
}

// Causation returns the causation ID in ctx, or "".
func Causation(ctx context.Context) string { s, _ := ctx.Value(causationKey).(string); return s }
