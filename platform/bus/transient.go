package bus

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"github.com/modmono/shop/platform/pgxdb"
)

// transientError is an error a handler marked as worth retrying.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as a failure that retrying can fix (a dependency that
// is briefly unavailable), for a handler whose failure IsTransient does not
// recognise by itself. The consumer retries such a message without limit
// and never dead-letters it.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient reports whether err is a failure of the environment rather
// than of the message: the database or the network unavailable, overloaded,
// shutting down or timing out, a serialization failure or deadlock, a lock
// not available, or an error a handler wrapped with Transient. Anything
// else, and ErrMalformed always, is a content failure: retrying the same
// message cannot fix it.
//
// The list is explicit rather than "everything but a few": an unknown error
// retried forever would block its lane for good, which is worse than a dead
// letter an operator can replay.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrMalformed) {
		return false
	}
	if errors.As(err, new(transientError)) {
		return true
	}
	if code := pgxdb.SQLState(err); code != "" {
		return transientSQLState(code)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ETIMEDOUT):
		return true
	}
	return false
}

// transientSQLState classifies a Postgres error code (SQLSTATE). See
// https://www.postgresql.org/docs/current/errcodes-appendix.html.
func transientSQLState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case strings.HasPrefix(code, "40"): // transaction rollback: serialization failure, deadlock
		return true
	case strings.HasPrefix(code, "53"): // insufficient resources: too many connections, disk full, out of memory
		return true
	case strings.HasPrefix(code, "57"): // operator intervention: admin/crash shutdown, cannot connect now, query cancelled (statement timeout)
		return true
	case code == "55P03": // lock not available (lock_timeout, NOWAIT)
		return true
	}
	return false
}
