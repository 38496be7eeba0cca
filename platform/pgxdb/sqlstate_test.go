package pgxdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/platform/pgxdb"
)

// SQLState finds Postgres's code through wrapping, and answers "" for
// anything Postgres did not refuse.
func TestSQLState(t *testing.T) {
	refused := fmt.Errorf("save: %w", &pgconn.PgError{Code: "23505"})
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "23505"},
		{nil, ""},
		{context.DeadlineExceeded, ""},
		{errors.New("connection reset"), ""},
	} {
		if got := pgxdb.SQLState(tc.err); got != tc.want {
			t.Errorf("SQLState(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
