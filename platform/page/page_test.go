package page_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/modmono/shop/platform/page"
)

func TestFromQuery(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	for query, want := range map[string]*page.Request{
		"":                                    {Limit: page.DefaultLimit},
		"limit=1":                             {Limit: 1},
		"limit=200&cursor=" + page.Cursor(id): {Limit: 200, After: id},
		"limit=0":                             nil,
		"limit=201":                           nil,
		"limit=ten":                           nil,
		"cursor=AAAA":                         nil,
		"cursor=%%%":                          nil,
		"limit=%zz":                           nil,
	} {
		got, err := page.FromQuery(httptest.NewRequest("GET", "/x?"+query, nil))
		switch {
		case want == nil && !errors.Is(err, page.ErrInvalid):
			t.Errorf("%q: %+v %v, want ErrInvalid", query, got, err)
		case want != nil && (err != nil || got != *want):
			t.Errorf("%q: %+v %v, want %+v", query, got, err, *want)
		}
	}
}

func TestOfCutsAtLimit(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	p := page.Of(ids, 2, func(id uuid.UUID) uuid.UUID { return id })
	if len(p.Items) != 2 || p.NextCursor == nil || *p.NextCursor != page.Cursor(ids[1]) {
		t.Fatalf("%+v", p)
	}
	if p := page.Of([]uuid.UUID(nil), 2, func(id uuid.UUID) uuid.UUID { return id }); p.Items == nil || p.NextCursor != nil {
		t.Fatalf("empty page %+v", p)
	}
}
