package httpx

import (
	"bytes"
	"encoding"
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

	"github.com/modmono/shop/platform/apperr"
)

// DecodeJSON decodes the request body into dst, which must be a pointer, and
// rejects anything but exactly one JSON value of the expected shape:
//
//   - a Content-Type other than application/json (a utf-8 charset is allowed): 415 http.unsupported_media_type
//   - a body over the limit (LimitBody's, else DefaultMaxBodyBytes): 413 http.body_too_large
//   - an empty body: 400 http.empty_body
//   - invalid JSON or invalid UTF-8: 400 http.malformed_json, with the byte offset
//   - a top-level null, or a value of the wrong type: 400 http.invalid_json, naming the field
//   - a field dst does not have: 400 http.unknown_field, naming it
//   - anything after the value: 400 http.trailing_data
//
// A 4xx *apperr.Error returned by a field's own UnmarshalJSON is passed on as
// is. Messages never repeat the input except for a (shortened) field name.
func DecodeJSON(r *http.Request, dst any) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return ErrUnsupportedMediaType
	}
	if r.Body == nil {
		return ErrEmptyBody
	}
	// The body is read whole (it is bounded) so emptiness, a bare null and
	// trailing data can be judged on the bytes rather than on decoder state.
	limit := bodyLimit(r.Context())
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ErrBodyTooLarge.WithMessage(fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit))
		}
		return ErrUnreadableBody.Wrap(err)
	}
	value := trimJSONSpace(body)
	switch {
	case len(value) == 0:
		return ErrEmptyBody
	case !utf8.Valid(body):
		// encoding/json would silently turn invalid bytes into U+FFFD and
		// store text the client never sent (RFC 8259 requires UTF-8).
		return ErrMalformedJSON.WithMessage("the body is not valid UTF-8")
	case string(value) == "null":
		// json.Unmarshal accepts null and leaves dst untouched, which would
		// let an empty request pass as a valid zero value.
		return ErrInvalidJSON.WithMessage("the body must not be null")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, len(body))
	}
	if len(trimJSONSpace(body[dec.InputOffset():])) > 0 {
		return ErrTrailingData
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// trimJSONSpace trims the four whitespace bytes JSON allows, and no others.
func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

func decodeError(err error, size int) error {
	var (
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
		invalid *json.InvalidUnmarshalError
		app     *apperr.Error
	)
	switch {
	case errors.As(err, &syntax):
		return ErrMalformedJSON.WithMessage(fmt.Sprintf("the body is not valid JSON (at byte offset %d)", syntax.Offset)).Wrap(err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrMalformedJSON.WithMessage(fmt.Sprintf("the body is not valid JSON (at byte offset %d)", size)).Wrap(err)
	case errors.As(err, &typ):
		want := jsonType(typ.Type)
		if typ.Field == "" {
			return ErrInvalidJSON.WithMessage("the body must be " + want).Wrap(err)
		}
		field := shorten(typ.Field)
		return &apperr.Error{Kind: ErrInvalidJSON.Kind, Code: ErrInvalidJSON.Code,
			Message: fmt.Sprintf("field %q must be %s", field, want),
			Fields:  []apperr.FieldError{{Field: field, Message: "must be " + want}}, Err: err}
	case errors.As(err, &invalid):
		return err // dst is not a pointer: a bug in the caller, so a 500
	case errors.As(err, &app) && app.Kind != apperr.KindInternal:
		return err
	}
	// encoding/json has no type for this one; its text is fixed by the package.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		name = shorten(name)
		return &apperr.Error{Kind: ErrUnknownField.Kind, Code: ErrUnknownField.Code,
			Message: fmt.Sprintf("the body has an unknown field %q", name),
			Fields:  []apperr.FieldError{{Field: name, Message: "is not a known field"}}, Err: err}
	}
	// A field's own UnmarshalJSON or UnmarshalText failed (a bad UUID, say).
	// Its message may quote the input, so it goes to the cause only.
	return ErrInvalidJSON.WithMessage("the body has a value in the wrong format").Wrap(err)
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonType names t as a client sees it: in JSON terms, not Go ones.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a different type"
}

// shorten caps a client-supplied field name so an error cannot be used to
// reflect a large payload back.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
