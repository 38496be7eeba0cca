package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/platform/bus"
)

type greetedV1 struct {
	Name string `json:"name"`
}

func (greetedV1) EventVersion() int { return 1 }

type greetedV2 struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

func (greetedV2) EventVersion() int { return 2 }

func envelope(t *testing.T, version int, payload string) bus.Envelope {
	t.Helper()
	return bus.Envelope{ID: uuid.New(), Type: "test.greeted", Version: version, Payload: json.RawMessage(payload)}
}

func TestOnDecodesChecksTheVersionAndUpcasts(t *testing.T) {
	t.Parallel()
	var got []greetedV2
	h := bus.On(func(_ context.Context, _ pgx.Tx, _ bus.Envelope, g greetedV2) error {
		got = append(got, g)
		return nil
	}, bus.UpcastFrom(func(old greetedV1) (greetedV2, error) {
		first, last, ok := strings.Cut(old.Name, " ")
		if !ok {
			return greetedV2{}, errors.New("no last name")
		}
		return greetedV2{First: first, Last: last}, nil
	}))
	ctx := context.Background()
	if err := h(ctx, nil, envelope(t, 2, `{"first":"Ada","last":"Lovelace","extra":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := h(ctx, nil, envelope(t, 1, `{"name":"Grace Hopper"}`)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (greetedV2{"Ada", "Lovelace"}) || got[1] != (greetedV2{"Grace", "Hopper"}) {
		t.Fatalf("applied %+v", got)
	}
	for name, e := range map[string]bus.Envelope{
		"newer version":        envelope(t, 3, `{"first":"A"}`),
		"bad payload":          envelope(t, 2, `{"first":7}`),
		"bad old payload":      envelope(t, 1, `[]`),
		"upcaster refuses":     envelope(t, 1, `{"name":"Plato"}`),
		"version nobody reads": envelope(t, 0, `{}`),
	} {
		if err := h(ctx, nil, e); !errors.Is(err, bus.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if len(got) != 2 {
		t.Fatalf("applied a refused message: %+v", got)
	}
}

func TestOnWithoutUpcastersReadsOnlyItsVersion(t *testing.T) {
	t.Parallel()
	h := bus.On(func(context.Context, pgx.Tx, bus.Envelope, greetedV2) error { return nil })
	if err := h(context.Background(), nil, envelope(t, 1, `{"name":"x"}`)); !errors.Is(err, bus.ErrMalformed) ||
		!strings.Contains(err.Error(), "version 1 is not known here") {
		t.Fatalf("got %v", err)
	}
}

func TestOnRefusesTwoReadersOfOneVersion(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an upcaster of the current version")
		}
	}()
	bus.On(func(context.Context, pgx.Tx, bus.Envelope, greetedV1) error { return nil },
		bus.UpcastFrom(func(g greetedV1) (greetedV1, error) { return g, nil }))
}
