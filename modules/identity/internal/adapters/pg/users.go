// Package pg stores identity's accounts in its Postgres schema.
package pg

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/app"
	"github.com/modmono/shop/modules/identity/internal/domain"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// Users is the account repository. A new account commits together with its
// registered event.
type Users struct {
	db     *pgxdb.DB
	outbox bus.Outbox
}

var _ app.Users = (*Users)(nil)

// NewUsers returns the repository over the module's database.
func NewUsers(db *pgxdb.DB) *Users { return &Users{db: db} }

// Add stores a new account and its registered event. An account with the
// same email is identityapi.ErrEmailTaken; the unique index decides, so two
// registrations racing for one email cannot both succeed.
func (r *Users) Add(ctx context.Context, u *domain.User) error {
	return r.db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertUser, args(u)...); err != nil {
			if isEmailTaken(err) {
				return identityapi.ErrEmailTaken.Wrap(err)
			}
			return err
		}
		return r.outbox.Add(ctx, tx, u.Registered())
	})
}

// Ensure makes sure an account with email (normalised) exists. If none
// does, it stores the one create returns for email, with its registered
// event. If one does, it is locked, change may modify it, and it is stored
// again if change reports a modification (no event: nothing other modules
// see has changed). Ensure reports whether it created the account. create
// runs only when no account has email, so what it costs (hashing a
// password) is not paid when the account is already there.
//
// Processes running Ensure at once for one email end with one account: the
// slower insert waits for the faster transaction, then finds its row.
func (r *Users) Ensure(ctx context.Context, email string, create func() (*domain.User, error),
	change func(*domain.User) (bool, error)) (created bool, err error) {
	err = r.db.Tx(ctx, func(tx pgx.Tx) error {
		existing, err := get(ctx, tx, `email = $1 FOR UPDATE`, email)
		if errors.Is(err, identityapi.ErrUserNotFound) {
			if created, err = r.addIfAbsent(ctx, tx, create); created || err != nil {
				return err
			}
			existing, err = get(ctx, tx, `email = $1 FOR UPDATE`, email) // another process inserted it first
		}
		if err != nil {
			return err
		}
		changed, err := change(existing)
		if err != nil || !changed {
			return err
		}
		s := existing.Snapshot()
		_, err = tx.Exec(ctx, `UPDATE users SET role = $2, password_hash = $3, updated_at = now() WHERE id = $1`,
			s.ID, string(s.Role), existing.PasswordHash())
		return err
	})
	return created, err
}

// addIfAbsent stores the account create returns, with its registered event,
// unless its email is taken, and reports whether it stored it.
func (r *Users) addIfAbsent(ctx context.Context, tx pgx.Tx, create func() (*domain.User, error)) (bool, error) {
	u, err := create()
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, insertUser+` ON CONFLICT (email) DO NOTHING`, args(u)...)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, r.outbox.Add(ctx, tx, u.Registered())
}

// Update locks the account, lets change modify it and, if it did, stores it
// with its updated event.
func (r *Users) Update(ctx context.Context, id uuid.UUID, change func(*domain.User) (bool, error)) (*domain.User, error) {
	var u *domain.User
	err := r.db.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		if u, err = get(ctx, tx, `id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		changed, err := change(u)
		if err != nil || !changed {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET name = $2, updated_at = now() WHERE id = $1`, id, u.Snapshot().Name); err != nil {
			return err
		}
		return r.outbox.Add(ctx, tx, u.Updated())
	})
	return u, err
}

// Get returns the account with id, or identityapi.ErrUserNotFound.
func (r *Users) Get(ctx context.Context, id uuid.UUID) (*domain.User, error) {
	return get(ctx, r.db.Pool, `id = $1`, id)
}

// ByEmail returns the account with email (normalised), or
// identityapi.ErrUserNotFound.
func (r *Users) ByEmail(ctx context.Context, email string) (*domain.User, error) {
	return get(ctx, r.db.Pool, `email = $1`, email)
}

const insertUser = `INSERT INTO users (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)`

func args(u *domain.User) []any {
	s := u.Snapshot()
	return []any{s.ID, s.Email, s.Name, string(s.Role), u.PasswordHash()}
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// get reads one account; where is a fixed condition from this file, never input.
func get(ctx context.Context, q querier, where string, arg any) (*domain.User, error) {
	var s identityapi.User
	var role, hash string
	err := q.QueryRow(ctx, `SELECT id, email, name, role, password_hash FROM users WHERE `+where, arg).
		Scan(&s.ID, &s.Email, &s.Name, &role, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identityapi.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	s.Role = auth.Role(role)
	return domain.Rehydrate(s, hash), nil
}

// isEmailTaken reports whether err is the unique index on users.email refusing a row.
func isEmailTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "users_email_key"
}
