// Package async runs the calls of a composed answer (the gateway's product
// details, the storefront's screens) side by side, each within its own
// deadline.
package async

import (
	"context"
	"fmt"
	"time"
)

// Call starts f in a goroutine with a deadline of timeout and returns a
// function that waits for its answer, never past that deadline, even if f
// ignores its context. A panic in f becomes its error: no middleware guards
// this goroutine, and one broken module must not end the process.
func Call[T any](ctx context.Context, timeout time.Duration, f func(context.Context) (T, error)) func() (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an answer after the deadline does not block its goroutine
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		v, err := f(ctx)
		done <- result{v, err}
	}()
	return func() (T, error) {
		defer cancel()
		select {
		case r := <-done:
			return r.v, r.err
		case <-ctx.Done():
			// Waiting for another call first may have taken until this
			// deadline too; an answer that came in time still counts.
			select {
			case r := <-done:
				return r.v, r.err
			default:
				var zero T
				return zero, ctx.Err()
			}
		}
	}
}
