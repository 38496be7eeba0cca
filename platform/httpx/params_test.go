package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/modmono/shop/platform/httpx"
)

func TestUUIDParam(t *testing.T) {
	t.Parallel()
	const id = "0f8fad5b-d9cb-469f-a165-70867728950e"
	tests := []struct {
		name    string
		value   string
		wantErr bool
	}{
		{name: "canonical", value: id},
		{name: "upper case", value: "0F8FAD5B-D9CB-469F-A165-70867728950E"},
		{name: "not a uuid", value: "42", wantErr: true},
		{name: "empty", value: "", wantErr: true},
		{name: "no dashes", value: "0f8fad5bd9cb469fa16570867728950e", wantErr: true},
		{name: "urn form", value: "urn:uuid:" + id, wantErr: true},
		{name: "braced", value: "{" + id + "}", wantErr: true},
		{name: "bad hex", value: "zf8fad5b-d9cb-469f-a165-70867728950e", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rctx := chi.NewRouteContext()
			rctx.URLParams.Add("id", tt.value)
			req := httptest.NewRequest(http.MethodGet, "/products/x", nil)
			req = req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, rctx))
			got, err := httpx.UUIDParam(req, "id")

			if tt.wantErr {
				if !errors.Is(err, httpx.ErrInvalidID) {
					t.Fatalf("UUIDParam() = %v, want http.invalid_id", err)
				}
				if rec, p := answer(t, req, err); rec.Code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "id" {
					t.Errorf("answered %d %+v", rec.Code, p)
				}
				return
			}
			if err != nil || got != uuid.MustParse(tt.value) {
				t.Errorf("UUIDParam() = %v, %v", got, err)
			}
		})
	}
}

func TestQueryInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		query   string
		want    int
		wantErr bool
	}{
		{name: "absent gives default", query: "", want: 20},
		{name: "empty gives default", query: "limit=", want: 20},
		{name: "in range", query: "limit=50", want: 50},
		{name: "lower bound", query: "limit=1", want: 1},
		{name: "upper bound", query: "limit=100", want: 100},
		{name: "below", query: "limit=0", wantErr: true},
		{name: "above", query: "limit=101", wantErr: true},
		{name: "not a number", query: "limit=ten", wantErr: true},
		{name: "fraction", query: "limit=1.5", wantErr: true},
		{name: "overflow", query: "limit=99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/products?"+tt.query, nil)
			got, err := httpx.QueryInt(r, "limit", 20, 1, 100)
			if tt.wantErr {
				if !errors.Is(err, httpx.ErrInvalidQuery) {
					t.Fatalf("QueryInt() = %v, want http.invalid_query", err)
				}
				if rec, p := answer(t, r, err); rec.Code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "limit" {
					t.Errorf("answered %d %+v", rec.Code, p)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("QueryInt() = %d, %v, want %d", got, err, tt.want)
			}
		})
	}
}
