package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	identitymigrations "github.com/modmono/shop/migrations/identity"
	"github.com/modmono/shop/modules/identity/identityapi"
	"github.com/modmono/shop/modules/identity/internal/adapters/pg"
	"github.com/modmono/shop/modules/identity/internal/app"
	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// env is one test's identity service over its own database. No relay
// runs, so the outbox keeps every event written.
type env struct {
	dsn    string
	svc    *app.Service
	db     *pgxdb.DB
	tokens *auth.Verifier
}

// newEnv returns a service over a fresh database.
func newEnv(t *testing.T) env { return envOn(t, pgtest.NewDatabase(t)) }

// envOn returns a service with its own pool over the database dsn, like
// one more process of the same deployment.
func envOn(t *testing.T, dsn string) env {
	t.Helper()
	db := openDB(t, dsn)
	key := authtest.NewKey(t)
	return env{dsn: dsn, svc: app.New(pg.NewUsers(db), key.Signer), db: db, tokens: key.Verifier()}
}

// openDB opens the identity schema of dsn, as host.Databases does.
func openDB(t *testing.T, dsn string) *pgxdb.DB {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), dsn, "identity",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: identitymigrations.FS}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// registered returns the payloads of the identity.user_registered events in
// the outbox, oldest first.
func (e env) registered(t *testing.T) []identityapi.UserRegisteredV1 {
	t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT envelope FROM outbox WHERE topic = $1 ORDER BY seq`, identityapi.UserRegistered)
	if err != nil {
		t.Fatal(err)
	}
	envs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var out []identityapi.UserRegisteredV1
	for _, b := range envs {
		env, err := bus.DecodeEnvelope(b)
		if err != nil || env.Version != 1 {
			t.Fatalf("envelope %s: %v", b, err)
		}
		var ev identityapi.UserRegisteredV1
		if err := env.DecodePayload(&ev); err != nil || env.AggregateID != ev.UserID.String() {
			t.Fatalf("payload %s: %v", env.Payload, err)
		}
		out = append(out, ev)
	}
	return out
}

func (e env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func customer(email string) identityapi.RegisterInput {
	return identityapi.RegisterInput{Email: email, Password: "correct horse battery", Name: " Ada Lovelace "}
}

func TestRegisterStoresANormalisedCustomerAndAnnouncesIt(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	reg, err := e.svc.Register(ctx, customer("  Ada@Example.COM "))
	if err != nil {
		t.Fatal(err)
	}
	if reg.ID.Version() != 7 {
		t.Fatalf("id %s is not a UUIDv7", reg.ID)
	}
	u, err := e.svc.GetUser(ctx, reg.ID)
	want := identityapi.User{ID: reg.ID, Email: "ada@example.com", Name: "Ada Lovelace", Role: auth.Customer}
	if err != nil || u != want {
		t.Fatalf("GetUser: %+v, %v", u, err)
	}
	evs := e.registered(t)
	if len(evs) != 1 || evs[0] != (identityapi.UserRegisteredV1{UserID: reg.ID, Email: want.Email, Name: want.Name, Role: auth.Customer}) {
		t.Fatalf("events %+v", evs)
	}
	var hash string
	if err := e.db.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, reg.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored hash %q", hash)
	}
}

func TestRegisterRefusesInvalidInputAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.Register(context.Background(), identityapi.RegisterInput{Email: "nope", Password: "short", Name: ""})
	var ae *apperr.Error
	if !errors.As(err, &ae) || !errors.Is(err, identityapi.ErrInvalidUser) || len(ae.Fields) != 3 {
		t.Fatalf("got %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM users`); n != 0 || len(e.registered(t)) != 0 {
		t.Fatalf("%d users stored", n)
	}
}

func TestRegisterTheSameEmailInAnotherCaseIsTaken(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	if _, err := e.svc.Register(ctx, customer("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Register(ctx, customer(" ADA@example.com"))
	if !errors.Is(err, identityapi.ErrEmailTaken) || apperr.KindOf(err) != apperr.KindConflict {
		t.Fatalf("got %v", err)
	}
	if n := len(e.registered(t)); n != 1 {
		t.Fatalf("%d events", n)
	}
}

func TestConcurrentRegistrationsOfOneEmailLetExactlyOneSucceed(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			email := "race@example.com"
			if i%2 == 1 {
				email = "Race@Example.com"
			}
			_, err := e.svc.Register(ctx, customer(email))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, identityapi.ErrEmailTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || e.count(t, `SELECT count(*) FROM users`) != 1 || len(e.registered(t)) != 1 {
		t.Fatalf("%d succeeded, %d users, %d events", ok, e.count(t, `SELECT count(*) FROM users`), len(e.registered(t)))
	}
}

func TestOutboxHoldsOneRegisteredEventPerUser(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	ids := map[uuid.UUID]bool{}
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		reg, err := e.svc.Register(ctx, customer(email))
		if err != nil {
			t.Fatal(err)
		}
		ids[reg.ID] = true
	}
	evs := e.registered(t)
	if len(evs) != len(ids) {
		t.Fatalf("%d events for %d users", len(evs), len(ids))
	}
	for _, ev := range evs {
		if !ids[ev.UserID] || ev.Role != auth.Customer {
			t.Fatalf("event %+v", ev)
		}
		delete(ids, ev.UserID)
	}
}

func TestLoginIssuesATokenForTheCustomer(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	reg, err := e.svc.Register(ctx, customer("ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// The email is normalised at login too; the password is taken as sent.
	tok, err := e.svc.Login(ctx, identityapi.LoginInput{Email: " ADA@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
		t.Fatalf("token %+v", tok)
	}
	p, err := e.tokens.Verify(context.Background(), tok.AccessToken)
	if err != nil || p != (auth.Principal{UserID: reg.ID, Role: auth.Customer}) {
		t.Fatalf("principal %+v, %v", p, err)
	}
}

func TestLoginRefusesBadCredentialsAlike(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	if _, err := e.svc.Register(ctx, customer("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]identityapi.LoginInput{
		"wrong password":         {Email: "ada@example.com", Password: "correct horse battery "},
		"unknown email":          {Email: "bob@example.com", Password: "correct horse battery"},
		"not an email":           {Email: "ada", Password: "correct horse battery"},
		"the dummy password":     {Email: "bob@example.com", Password: "identity: no account has this password"},
		"over-long password":     {Email: "ada@example.com", Password: strings.Repeat("x", 129)},
		"over-long email":        {Email: strings.Repeat("a", 250) + "@example.com", Password: "correct horse battery"},
		"invalid UTF-8 password": {Email: "ada@example.com", Password: "correct horse battery\xff"},
		"NUL in the email":       {Email: "ada\x00@example.com", Password: "correct horse battery"},
		"invalid UTF-8 email":    {Email: "ada\xff@example.com", Password: "correct horse battery"},
		"NUL in the password":    {Email: "ada@example.com", Password: "correct horse\x00battery"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok, err := e.svc.Login(ctx, in)
			if !errors.Is(err, identityapi.ErrInvalidCredentials) || apperr.KindOf(err) != apperr.KindUnauthenticated || tok != (identityapi.Token{}) {
				t.Fatalf("got %+v, %v", tok, err)
			}
		})
	}
}

func TestLoginRequiresEmailAndPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.Login(context.Background(), identityapi.LoginInput{})
	var ae *apperr.Error
	if !errors.As(err, &ae) || !errors.Is(err, identityapi.ErrInvalidLogin) || len(ae.Fields) != 2 {
		t.Fatalf("got %v", err)
	}
}

func TestGetUnknownUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.svc.GetUser(context.Background(), uuid.New()); !errors.Is(err, identityapi.ErrUserNotFound) {
		t.Fatalf("got %v", err)
	}
}

// A stored hash that cannot be read is a server fault, not a wrong password.
func TestLoginWithACorruptStoredHashIsInternal(t *testing.T) {
	t.Parallel()
	e, ctx := newEnv(t), context.Background()
	if _, err := e.svc.Register(ctx, customer("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE users SET password_hash = 'garbage'`); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, identityapi.LoginInput{Email: "ada@example.com", Password: "correct horse battery"})
	if !errors.Is(err, app.ErrMalformedHash) || apperr.KindOf(err) != apperr.KindInternal {
		t.Fatalf("got %v", err)
	}
}

func TestLoginGivesUpWhenTheCallerLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.svc.Login(ctx, identityapi.LoginInput{Email: "ada@example.com", Password: "correct horse battery"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
