// Package apperr defines the errors every module returns across its boundary:
// a Kind that says what went wrong in transport-neutral terms, and a stable
// Code ("catalog.product_not_found") that clients and tests match on.
//
// Two *Error values are the same error (errors.Is) when their codes match, so a
// sentinel declared in a module's public package still matches after the error
// has crossed an HTTP boundary and been rebuilt from its problem response.
package apperr

import (
	"errors"
	"strings"
)

// Kind classifies an error. Values are append-only: never reorder or reuse.
type Kind int

const (
	KindInternal             Kind = iota // a bug or an unexpected failure; details are never shown
	KindInvalid                          // the request is malformed or breaks a field rule
	KindUnauthenticated                  // no or bad credentials
	KindForbidden                        // authenticated, but not allowed
	KindNotFound                         // the addressed thing does not exist
	KindConflict                         // the request conflicts with current state
	KindUnprocessable                    // well-formed, but cannot be acted on as asked
	KindTooManyRequests                  // rate limited
	KindUnavailable                      // a dependency is down; retrying later may help
	KindTimeout                          // a dependency did not answer in time
	KindMethodNotAllowed                 // the path exists, the method does not
	KindTooLarge                         // the request body is over the limit
	KindUnsupportedMediaType             // the body is not in a format the endpoint takes
)

var kindNames = [...]string{"internal", "invalid", "unauthenticated", "forbidden", "not_found",
	"conflict", "unprocessable", "too_many_requests", "unavailable", "timeout",
	"method_not_allowed", "too_large", "unsupported_media_type"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "internal"
	}
	return kindNames[k]
}

// ParseKind is the inverse of Kind.String; unknown names are KindInternal.
func ParseKind(s string) Kind {
	for i, n := range kindNames {
		if n == s {
			return Kind(i)
		}
	}
	return KindInternal
}

// FieldError names one input field that failed validation.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a classified, coded error. Message is safe to show to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error // the cause, for logs only; never shown to clients
}

// New returns an error of the given kind and code.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		b.WriteString("; ")
		b.WriteString(f.Field)
		b.WriteString(" ")
		b.WriteString(f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Wrap returns a copy of e that carries cause for the logs.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithMessage returns a copy of e with a more specific client-facing message.
func (e *Error) WithMessage(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

// Invalid builds a KindInvalid error listing the fields that failed.
func Invalid(code string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: "the request has invalid fields", Fields: fields}
}

// KindOf returns the Kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Validator collects field errors; its zero value is ready to use.
type Validator struct{ fields []FieldError }

// Check records msg against field when ok is false.
func (v *Validator) Check(ok bool, field, msg string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: msg})
	}
}

// Err returns nil when every check passed, or a KindInvalid error with code.
func (v *Validator) Err(code string) error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(code, v.fields...)
}
