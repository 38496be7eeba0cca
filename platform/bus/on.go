package bus

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Versioned is an event payload type: one version of one event, e.g.
// orderingapi.OrderPlacedV1 (EventVersion 1).
type Versioned interface {
	EventVersion() int
}

// Upcaster reads an older version of an event as the version a handler
// takes. Make one with UpcastFrom.
type Upcaster[T any] struct {
	from   int
	decode func(Envelope) (T, error)
}

// UpcastFrom reads the payload as Old (its version is Old's EventVersion)
// and converts it with up. up is pure: an error from it means this payload
// can never be read, so the message is malformed.
func UpcastFrom[Old Versioned, T any](up func(Old) (T, error)) Upcaster[T] {
	var old Old
	return Upcaster[T]{from: old.EventVersion(), decode: func(e Envelope) (T, error) {
		var zero T
		var o Old
		if err := e.DecodePayload(&o); err != nil {
			return zero, err
		}
		t, err := up(o)
		if err != nil {
			return zero, fmt.Errorf("%w: upcast %s from version %d: %v", ErrMalformed, e.Type, e.Version, err)
		}
		return t, nil
	}}
}

// On makes the HandlerFunc of a consumer that takes payloads of type T:
// the version T declares is decoded into T, each older version the
// upcasters name is decoded into its own type and converted, and any other
// version (a newer producer, a version nobody upcasts) is ErrMalformed, so
// the message goes to the dead letters at once rather than being guessed at.
// A payload that does not decode is ErrMalformed too. apply runs only with
// a T, inside the consumer's transaction.
//
// On panics when two upcasters claim one version or one claims T's own:
// that is a wiring mistake found when the module starts, not a message
// fault.
func On[T Versioned](apply func(ctx context.Context, tx pgx.Tx, e Envelope, payload T) error, upcasters ...Upcaster[T]) HandlerFunc {
	var current T
	decoders := map[int]func(Envelope) (T, error){current.EventVersion(): func(e Envelope) (T, error) {
		var t T
		err := e.DecodePayload(&t)
		return t, err
	}}
	for _, u := range upcasters {
		if _, dup := decoders[u.from]; dup {
			panic(fmt.Sprintf("bus.On[%T]: version %d is read twice", current, u.from))
		}
		decoders[u.from] = u.decode
	}
	known := slices.Sorted(maps.Keys(decoders))
	return func(ctx context.Context, tx pgx.Tx, e Envelope) error {
		decode, ok := decoders[e.Version]
		if !ok {
			return fmt.Errorf("%w: %s version %d is not known here (known: %v)", ErrMalformed, e.Type, e.Version, known)
		}
		payload, err := decode(e)
		if err != nil {
			return err
		}
		return apply(ctx, tx, e, payload)
	}
}
