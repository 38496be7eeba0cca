package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
)

type order struct {
	A     int       `json:"a"`
	Name  string    `json:"name"`
	Qty   int       `json:"qty"`
	Tags  []string  `json:"tags"`
	ID    uuid.UUID `json:"id"`
	Items []struct {
		Quantity int `json:"quantity"`
	} `json:"items"`
}

func jsonRequest(contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	const ct = "application/json"
	tests := []struct {
		name        string
		contentType string
		body        string
		want        *apperr.Error // nil: success
		status      int
		detail      string // a substring the client's detail must hold
		field       string // the field the problem must name
		secret      string // input the response must not repeat
	}{
		{name: "valid", contentType: ct, body: `{"name":"pen","qty":2}`},
		{name: "valid with charset", contentType: "application/json; charset=utf-8", body: `{"qty":1}`},
		{name: "valid with upper-case charset", contentType: "application/json; charset=UTF-8", body: `{"qty":1}`},
		{name: "surrounding whitespace", contentType: ct, body: " \n\t{\"qty\":1}\r\n "},
		{name: "wrong content type", contentType: "text/plain", body: `{"qty":1}`, want: httpx.ErrUnsupportedMediaType, status: 415},
		{name: "missing content type", body: `{"qty":1}`, want: httpx.ErrUnsupportedMediaType, status: 415},
		{name: "json suffix type", contentType: "application/problem+json", body: `{}`, want: httpx.ErrUnsupportedMediaType, status: 415},
		{name: "other charset", contentType: "application/json; charset=latin1", body: `{}`, want: httpx.ErrUnsupportedMediaType, status: 415},
		{name: "empty body", contentType: ct, body: "", want: httpx.ErrEmptyBody, status: 400},
		{name: "whitespace body", contentType: ct, body: " \n ", want: httpx.ErrEmptyBody, status: 400},
		{name: "malformed", contentType: ct, body: `{"name" "SECRET"}`, want: httpx.ErrMalformedJSON, status: 400,
			detail: "at byte offset 9", secret: "SECRET"},
		{name: "truncated", contentType: ct, body: `{"name":`, want: httpx.ErrMalformedJSON, status: 400, detail: "at byte offset 8"},
		{name: "wrong type", contentType: ct, body: `{"qty":"SECRET"}`, want: httpx.ErrInvalidJSON, status: 400,
			detail: "an integer", field: "qty", secret: "SECRET"},
		{name: "wrong type nested", contentType: ct, body: `{"items":[{"quantity":true}]}`, want: httpx.ErrInvalidJSON, status: 400,
			field: "items.quantity"},
		{name: "fraction for integer", contentType: ct, body: `{"qty":1.5}`, want: httpx.ErrInvalidJSON, status: 400, field: "qty"},
		{name: "number for string", contentType: ct, body: `{"name":7}`, want: httpx.ErrInvalidJSON, status: 400, detail: "a string", field: "name"},
		{name: "number for uuid", contentType: ct, body: `{"id":7}`, want: httpx.ErrInvalidJSON, status: 400, detail: "a string", field: "id"},
		{name: "bad uuid", contentType: ct, body: `{"id":"SECRET"}`, want: httpx.ErrInvalidJSON, status: 400, secret: "SECRET"},
		{name: "unknown field", contentType: ct, body: `{"qty":1,"admin":true}`, want: httpx.ErrUnknownField, status: 400,
			detail: `"admin"`, field: "admin"},
		{name: "long unknown field is shortened", contentType: ct, body: `{"` + strings.Repeat("x", 500) + `":1}`,
			want: httpx.ErrUnknownField, status: 400, secret: strings.Repeat("x", 100)},
		{name: "trailing value", contentType: ct, body: `{"a":1}{"b":2}`, want: httpx.ErrTrailingData, status: 400},
		{name: "trailing garbage", contentType: ct, body: `{"a":1} x`, want: httpx.ErrTrailingData, status: 400},
		{name: "trailing close bracket", contentType: ct, body: `{"a":1}]`, want: httpx.ErrTrailingData, status: 400},
		{name: "array for object", contentType: ct, body: `[]`, want: httpx.ErrInvalidJSON, status: 400, detail: "an object"},
		{name: "string for object", contentType: ct, body: `"SECRET"`, want: httpx.ErrInvalidJSON, status: 400, secret: "SECRET"},
		{name: "null", contentType: ct, body: `null`, want: httpx.ErrInvalidJSON, status: 400, detail: "null"},
		{name: "null with whitespace", contentType: ct, body: " null\n", want: httpx.ErrInvalidJSON, status: 400},
		{name: "2 MiB body", contentType: ct, body: `{"name":"` + strings.Repeat("a", 2<<20) + `"}`,
			want: httpx.ErrBodyTooLarge, status: 413, detail: "1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := jsonRequest(tt.contentType, tt.body)
			var dst order
			err := httpx.DecodeJSON(r, &dst)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("DecodeJSON() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeJSON() = %v, want %s", err, tt.want.Code)
			}
			rec, p := answer(t, r, err)
			if rec.Code != tt.status || p.Status != tt.status || p.Code != tt.want.Code {
				t.Errorf("answered %d %d %q, want %d %q", rec.Code, p.Status, p.Code, tt.status, tt.want.Code)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.detail)
			}
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors = %+v, want field %q", p.Errors, tt.field)
			}
			if tt.secret != "" && strings.Contains(rec.Body.String(), tt.secret) {
				t.Errorf("response repeats the input: %s", rec.Body.String())
			}
		})
	}
}

func TestDecodeJSONFillsDst(t *testing.T) {
	t.Parallel()
	var dst order
	r := jsonRequest("application/json", `{"name":"pen","qty":2,"tags":["a"]}`)
	if err := httpx.DecodeJSON(r, &dst); err != nil {
		t.Fatal(err)
	}
	if dst.Name != "pen" || dst.Qty != 2 || len(dst.Tags) != 1 {
		t.Errorf("dst = %+v", dst)
	}
}

func TestDecodeJSONUsesLimitBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int64
		size  int
		want  error
	}{
		{name: "under a small limit", limit: 64, size: 32},
		{name: "over a small limit", limit: 64, size: 100, want: httpx.ErrBodyTooLarge},
		{name: "a larger limit lifts the default", limit: 3 << 20, size: 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := `{"name":"` + strings.Repeat("a", tt.size-len(`{"name":""}`)) + `"}`
			var got error
			h := httpx.LimitBody(tt.limit)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				var dst order
				got = httpx.DecodeJSON(r, &dst)
			}))
			h.ServeHTTP(httptest.NewRecorder(), jsonRequest("application/json", body))
			if !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("DecodeJSON() = %v, want %v", got, tt.want)
			}
		})
	}
}

// uppercase rejects lower-case input with its own 4xx error, which DecodeJSON must pass on.
type uppercase string

var errNotUpper = apperr.New(apperr.KindInvalid, "test.not_upper", "must be upper case")

func (u *uppercase) UnmarshalJSON(b []byte) error {
	if strings.ToUpper(string(b)) != string(b) {
		return errNotUpper
	}
	*u = uppercase(b)
	return nil
}

func TestDecodeJSONKeepsFieldErrors(t *testing.T) {
	t.Parallel()
	var dst struct {
		Code uppercase `json:"code"`
	}
	err := httpx.DecodeJSON(jsonRequest("application/json", `{"code":"abc"}`), &dst)
	if !errors.Is(err, errNotUpper) {
		t.Errorf("DecodeJSON() = %v, want %v", err, errNotUpper)
	}
}

func TestDecodeJSONNonPointerIsInternal(t *testing.T) {
	t.Parallel()
	r := jsonRequest("application/json", `{}`)
	err := httpx.DecodeJSON(r, order{})
	if rec, _ := answer(t, r, err); rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500 for a caller bug", rec.Code)
	}
}

// FuzzDecodeJSON checks that no body makes DecodeJSON panic, and that every
// rejection is a classified 4xx.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"a":1}{"b":2}`, `{"name":"x","qty":1,"tags":["t"]}`,
		`{"qty":"1"}`, `{"qty":1e400}`, `{"x":1}`, `{"name":"\ud800"}`, `{"tags":[1,2]}`, `{"name":`, "\xff", `{"qty":-0}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst struct {
			Name string   `json:"name"`
			Qty  int      `json:"qty"`
			Tags []string `json:"tags"`
			Sub  *struct {
				On bool `json:"on"`
			} `json:"sub"`
		}
		r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		err := httpx.DecodeJSON(r, &dst)
		if err == nil {
			return
		}
		var ae *apperr.Error
		if !errors.As(err, &ae) {
			t.Fatalf("DecodeJSON(%q) = %v, not an *apperr.Error", body, err)
		}
		if rec, _ := answer(t, r, err); rec.Code < 400 || rec.Code > 499 {
			t.Fatalf("DecodeJSON(%q) = %v, answered %d", body, err, rec.Code)
		}
	})
}
