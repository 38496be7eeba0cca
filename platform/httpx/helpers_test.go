package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/problem"
)

// answer writes err the way a handler would and returns what the client got.
func answer(t *testing.T, r *http.Request, err error) (*httptest.ResponseRecorder, problem.Problem) {
	t.Helper()
	rec := httptest.NewRecorder()
	httpx.WriteError(rec, r, nil, err)
	return rec, readProblem(t, rec)
}

func readProblem(t *testing.T, rec *httptest.ResponseRecorder) problem.Problem {
	t.Helper()
	var p problem.Problem
	if rec.Body.Len() == 0 {
		return p
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, problem.ContentType)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body.String(), err)
	}
	return p
}
