package problem_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/problem"
)

var errGone = apperr.New(apperr.KindNotFound, "test.gone", "it is gone")

// An error survives the wire: written as a problem, read back, it is still
// the same error (errors.Is by code) of the same kind.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"sentinel":        errGone,
		"wrapped":         fmt.Errorf("loading: %w", errGone.Wrap(errors.New("sql: no rows"))),
		"with fields":     apperr.Invalid("test.invalid", apperr.FieldError{Field: "name", Message: "required"}),
		"too large":       apperr.New(apperr.KindTooLarge, "test.too_large", "big"),
		"method":          apperr.New(apperr.KindMethodNotAllowed, "test.method", "no"),
		"unsupported":     apperr.New(apperr.KindUnsupportedMediaType, "test.media", "no"),
		"rate limited":    apperr.New(apperr.KindTooManyRequests, "test.slow_down", "wait"),
		"dependency down": apperr.New(apperr.KindUnavailable, "test.down", "later"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			problem.Write(rec, problem.From(err), "corr-1")
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("content type %q", ct)
			}
			var p problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			back := p.Err()
			var want *apperr.Error
			errors.As(err, &want)
			if !errors.Is(back, want) || back.Kind != want.Kind || rec.Code != problem.Status(want.Kind) || p.CorrelationID != "corr-1" {
				t.Fatalf("%d %+v became %+v", rec.Code, want, back)
			}
			if len(want.Fields) != len(back.Fields) {
				t.Fatalf("fields %v became %v", want.Fields, back.Fields)
			}
		})
	}
}

// An error that is not an *apperr.Error is internal, and its text is never shown.
func TestInternalErrorsAreNotRevealed(t *testing.T) {
	t.Parallel()
	p := problem.From(errors.New("pq: password authentication failed for user admin"))
	if p.Status != 500 || p.Code != problem.Internal || p.Detail == "" {
		t.Fatalf("%+v", p)
	}
	body, _ := json.Marshal(p)
	if want := "password"; contains(body, want) {
		t.Fatalf("leaked %q: %s", want, body)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
