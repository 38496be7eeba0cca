package app_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	inventorymigrations "github.com/modmono/shop/migrations/inventory"
	"github.com/modmono/shop/modules/catalog/catalogapi"
	"github.com/modmono/shop/modules/inventory/internal/adapters/pg"
	"github.com/modmono/shop/modules/inventory/internal/app"
	"github.com/modmono/shop/modules/inventory/inventoryapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
	"github.com/modmono/shop/platform/pgxdb"
)

// anyProduct is a catalog that knows every product: these tests are about
// inventory's own rules, not about asking the catalog.
type anyProduct struct{ catalogapi.API }

func (anyProduct) GetProduct(_ context.Context, id uuid.UUID) (catalogapi.Product, error) {
	return catalogapi.Product{ID: id}, nil
}

// fixture is the service over a fresh inventory schema.
type fixture struct {
	svc *app.Service
	db  *pgxdb.DB
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	db, err := pgxdb.Open(context.Background(), pgtest.NewDatabase(t), "inventory",
		[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: inventorymigrations.FS}}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return fixture{svc: app.New(pg.NewStock(db), anyProduct{}), db: db}
}

// product creates a product with onHand units.
func (f fixture) product(t testing.TB, onHand int64) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := f.svc.SetStock(context.Background(), id, inventoryapi.SetStockInput{OnHand: onHand}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) stock(t testing.TB, id uuid.UUID) inventoryapi.Stock {
	t.Helper()
	s, err := f.svc.GetStock(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// events counts the stock-changed events of a product in the outbox (no
// relay runs in these tests, so none leaves it).
func (f fixture) events(t *testing.T, id uuid.UUID) int {
	t.Helper()
	var n int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE topic = $1 AND envelope->>'aggregate_id' = $2`,
		inventoryapi.StockChanged, id.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// announced checks that the newest stock-changed event of a product in the
// outbox is an envelope the relay reads and announces the product's stock.
func (f fixture) announced(t *testing.T, id uuid.UUID) {
	t.Helper()
	var body []byte
	var msgID uuid.UUID
	var partition int
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT envelope, id, partition FROM outbox
		WHERE topic = $1 AND envelope->>'aggregate_id' = $2 ORDER BY seq DESC LIMIT 1`,
		inventoryapi.StockChanged, id.String()).Scan(&body, &msgID, &partition); err != nil {
		t.Fatal(err)
	}
	env, err := bus.DecodeEnvelope(body)
	if err != nil || env.ID != msgID || partition != bus.Partition(id.String()) {
		t.Fatalf("%v: envelope %+v of message %s in partition %d", err, env, msgID, partition)
	}
	var got inventoryapi.StockChangedV1
	if err := env.DecodePayload(&got); err != nil {
		t.Fatal(err)
	}
	s := f.stock(t, id)
	if want := (inventoryapi.StockChangedV1{ProductID: id, OnHand: s.OnHand, Reserved: s.Reserved}); got != want || env.Version != 1 {
		t.Fatalf("event v%d %+v, want v1 %+v", env.Version, got, want)
	}
}

// state returns the state of the order's reservation, "" if it has none.
func (f fixture) state(t *testing.T, order uuid.UUID) string {
	t.Helper()
	var s string
	err := f.db.Pool.QueryRow(context.Background(), `SELECT coalesce(min(state), '') FROM reservations WHERE order_id = $1`, order).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// conserved asserts the stock identity of SPEC §6 for a product that was
// given initial units: on hand plus the units of committed (shipped, not
// returned) reservations is initial, reserved is the units of held
// reservations, and available is never below zero.
func (f fixture) conserved(t *testing.T, id uuid.UUID, initial int64) {
	t.Helper()
	var committed, held int64
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT
			coalesce(sum(quantity) FILTER (WHERE state = 'committed'), 0),
			coalesce(sum(quantity) FILTER (WHERE state = 'reserved'), 0)
		FROM reservations WHERE product_id = $1`, id).Scan(&committed, &held); err != nil {
		t.Fatal(err)
	}
	s := f.stock(t, id)
	if s.OnHand+committed != initial || s.Reserved != held || s.Available < 0 || s.Available != s.OnHand-s.Reserved {
		t.Fatalf("stock of %s not conserved: %+v, committed %d, held %d, initial %d", id, s, committed, held, initial)
	}
}

func lines(ls ...any) []inventoryapi.Line {
	var out []inventoryapi.Line
	for i := 0; i+1 < len(ls); i += 2 {
		out = append(out, inventoryapi.Line{ProductID: ls[i].(uuid.UUID), Quantity: int64(ls[i+1].(int))})
	}
	return out
}

func same(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// Every operation from every state of an order's reservation, through the
// real tables: the error, the stock, the state, and whether the stock
// change was announced.
func TestReservationTransitions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// How to bring an order holding 3 of a product's 10 units into a state.
	setups := map[string][]string{
		"none":      nil,
		"reserved":  {"reserve"},
		"committed": {"reserve", "commit"},
		"released":  {"reserve", "release"},
		"restocked": {"reserve", "commit", "restock"},
	}
	do := func(op string, order, product uuid.UUID) error {
		switch op {
		case "reserve":
			return f.svc.Reserve(ctx, order, lines(product, 3))
		case "release":
			return f.svc.Release(ctx, order)
		case "commit":
			return f.svc.Commit(ctx, order)
		case "restock":
			return f.svc.Restock(ctx, order)
		}
		panic(op)
	}
	type want struct {
		err      error
		state    string
		onHand   int64
		reserved int64
		event    bool
	}
	var (
		stateErr = inventoryapi.ErrReservationState
		notFound = inventoryapi.ErrReservationNotFound
	)
	for _, tc := range []struct {
		from, op string
		want     want
	}{
		{"none", "reserve", want{nil, "reserved", 10, 3, true}},
		{"reserved", "reserve", want{nil, "reserved", 10, 3, false}},
		{"committed", "reserve", want{nil, "committed", 7, 0, false}},
		{"released", "reserve", want{stateErr, "released", 10, 0, false}},
		{"restocked", "reserve", want{stateErr, "restocked", 10, 0, false}},

		{"none", "release", want{nil, "", 10, 0, false}},
		{"reserved", "release", want{nil, "released", 10, 0, true}},
		{"committed", "release", want{stateErr, "committed", 7, 0, false}},
		{"released", "release", want{nil, "released", 10, 0, false}},
		{"restocked", "release", want{stateErr, "restocked", 10, 0, false}},

		{"none", "commit", want{notFound, "", 10, 0, false}},
		{"reserved", "commit", want{nil, "committed", 7, 0, true}},
		{"committed", "commit", want{nil, "committed", 7, 0, false}},
		{"released", "commit", want{stateErr, "released", 10, 0, false}},
		{"restocked", "commit", want{stateErr, "restocked", 10, 0, false}},

		{"none", "restock", want{notFound, "", 10, 0, false}},
		{"reserved", "restock", want{stateErr, "reserved", 10, 3, false}},
		{"committed", "restock", want{nil, "restocked", 10, 0, true}},
		{"released", "restock", want{stateErr, "released", 10, 0, false}},
		{"restocked", "restock", want{nil, "restocked", 10, 0, false}},
	} {
		t.Run(tc.op+" "+tc.from, func(t *testing.T) {
			t.Parallel()
			product, order := f.product(t, 10), uuid.New()
			for _, op := range setups[tc.from] {
				if err := do(op, order, product); err != nil {
					t.Fatalf("setup %s: %v", op, err)
				}
			}
			events := f.events(t, product)
			err := do(tc.op, order, product)
			if !same(err, tc.want.err) {
				t.Fatalf("got %v, want %v", err, tc.want.err)
			}
			s := f.stock(t, product)
			if got := f.state(t, order); got != tc.want.state || s.OnHand != tc.want.onHand || s.Reserved != tc.want.reserved {
				t.Fatalf("state %q stock %+v; want %+v", got, s, tc.want)
			}
			if announced := f.events(t, product) > events; announced != tc.want.event {
				t.Fatalf("stock-changed event written: %v, want %v", announced, tc.want.event)
			}
			f.announced(t, product)
			f.conserved(t, product, 10)
		})
	}
}

func TestReserveHoldsEveryLineOrNone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.product(t, 5), f.product(t, 1)
	unknown := uuid.New() // no stock record

	for name, ls := range map[string][]inventoryapi.Line{
		"one line short":      lines(a, 3, b, 2),
		"one product unknown": lines(a, 3, unknown, 1),
	} {
		order := uuid.New()
		err := f.svc.Reserve(ctx, order, ls)
		if !errors.Is(err, inventoryapi.ErrInsufficientStock) || strings.Contains(err.Error(), a.String()) {
			t.Fatalf("%s: want insufficient stock not naming %s, got %v", name, a, err)
		}
		if short := ls[1].ProductID; !strings.Contains(err.Error(), short.String()) {
			t.Fatalf("%s: %v does not name %s", name, err, short)
		}
		if f.stock(t, a).Reserved != 0 || f.state(t, order) != "" || f.events(t, a) != 1 {
			t.Fatalf("%s: a failed reserve held units of a: %+v", name, f.stock(t, a))
		}
	}

	order := uuid.New()
	if err := f.svc.Reserve(ctx, order, lines(a, 4, b, 1)); err != nil {
		t.Fatal(err)
	}
	if f.stock(t, a) != (inventoryapi.Stock{OnHand: 5, Reserved: 4, Available: 1}) || f.stock(t, b).Available != 0 {
		t.Fatalf("after reserve: %+v %+v", f.stock(t, a), f.stock(t, b))
	}
	f.conserved(t, a, 5)
	f.conserved(t, b, 1)
	f.announced(t, a)
	f.announced(t, b)
}

func TestReserveRejectsInvalidLinesAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.product(t, 5)
	order := uuid.New()
	err := f.svc.Reserve(context.Background(), order, lines(a, 1, a, 2))
	if !errors.Is(err, inventoryapi.ErrInvalidReservation) {
		t.Fatalf("got %v", err)
	}
	if f.stock(t, a).Reserved != 0 || f.state(t, order) != "" {
		t.Fatal("an invalid reservation changed something")
	}
}

// On hand cannot be set below the units held for orders.
func TestSetStockRespectsReservations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.product(t, 5)
	if err := f.svc.Reserve(ctx, uuid.New(), lines(a, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStock(ctx, a, inventoryapi.SetStockInput{OnHand: 3}); !errors.Is(err, inventoryapi.ErrBelowReserved) {
		t.Fatalf("got %v", err)
	}
	if s, err := f.svc.SetStock(ctx, a, inventoryapi.SetStockInput{OnHand: 4}); err != nil || s.Available != 0 {
		t.Fatalf("%v %+v", err, s)
	}
}

// reserveConcurrently has n orders, released at once, reserve linesOf(i)
// each, and returns the orders that succeeded. Every failure must be
// ErrInsufficientStock: a deadlock or a check violation fails the test.
func reserveConcurrently(t *testing.T, f fixture, n int, linesOf func(i int) []inventoryapi.Line) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	start := make(chan struct{})
	var mu sync.Mutex
	var won []uuid.UUID
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			order := uuid.New()
			<-start
			err := f.svc.Reserve(ctx, order, linesOf(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, order)
			case !errors.Is(err, inventoryapi.ErrInsufficientStock):
				t.Errorf("order %d: %v", i, err)
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d concurrent reserves took %v", n, time.Since(began))
	return won
}

// Ten units, forty buyers of one unit each at the same moment: exactly ten
// get one, and the stock moves on consistently through commit, release and
// restock.
func TestNoOversell(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := f.product(t, 10)

	won := reserveConcurrently(t, f, 40, func(int) []inventoryapi.Line { return lines(p, 1) })
	if len(won) != 10 || f.stock(t, p) != (inventoryapi.Stock{OnHand: 10, Reserved: 10, Available: 0}) {
		t.Fatalf("%d reservations succeeded, stock %+v", len(won), f.stock(t, p))
	}
	f.conserved(t, p, 10)

	for _, order := range won[:4] {
		if err := f.svc.Commit(ctx, order); err != nil {
			t.Fatal(err)
		}
	}
	for _, order := range won[4:] {
		if err := f.svc.Release(ctx, order); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.stock(t, p); s != (inventoryapi.Stock{OnHand: 6, Reserved: 0, Available: 6}) {
		t.Fatalf("after 4 commits and 6 releases: %+v", s)
	}
	f.conserved(t, p, 10)

	for _, order := range won[:2] {
		if err := f.svc.Restock(ctx, order); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.stock(t, p); s != (inventoryapi.Stock{OnHand: 8, Reserved: 0, Available: 8}) {
		t.Fatalf("after 2 restocks: %+v", s)
	}
	f.conserved(t, p, 10)
	// 1 set + 10 reserves + 4 commits + 6 releases + 2 restocks, one event each.
	if n := f.events(t, p); n != 23 {
		t.Fatalf("%d stock-changed events, want 23", n)
	}
}

// Orders of three products each, listing them in different orders, race
// for ten units of each: the locks are taken in one order whatever the
// order of the lines, so there is no deadlock and exactly ten win.
func TestNoOversellNorDeadlockAcrossProducts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ps := []uuid.UUID{f.product(t, 10), f.product(t, 10), f.product(t, 10)}

	won := reserveConcurrently(t, f, 40, func(i int) []inventoryapi.Line {
		order := slicesPerm(ps, i)
		return lines(order[0], 1, order[1], 1, order[2], 1)
	})
	if len(won) != 10 {
		t.Fatalf("%d reservations succeeded, want 10", len(won))
	}
	for _, p := range ps {
		if s := f.stock(t, p); s != (inventoryapi.Stock{OnHand: 10, Reserved: 10, Available: 0}) {
			t.Fatalf("%s: %+v", p, s)
		}
		f.conserved(t, p, 10)
	}

	// Mixed sizes: two units of one product and one of another, in both
	// orders; some will not fit, none may oversell.
	qs := []uuid.UUID{f.product(t, 7), f.product(t, 9)}
	won = reserveConcurrently(t, f, 30, func(i int) []inventoryapi.Line {
		if i%2 == 0 {
			return lines(qs[0], 2, qs[1], 1)
		}
		return lines(qs[1], 1, qs[0], 2)
	})
	if len(won) != 3 { // 7 units of the first product fit three orders of two
		t.Fatalf("%d mixed reservations succeeded, want 3", len(won))
	}
	for i, q := range qs {
		f.conserved(t, q, []int64{7, 9}[i])
	}
}

// slicesPerm returns the permutation number i (of 6) of three products.
func slicesPerm(ps []uuid.UUID, i int) []uuid.UUID {
	perms := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	p := perms[i%len(perms)]
	return []uuid.UUID{ps[p[0]], ps[p[1]], ps[p[2]]}
}

// A saga repeating its steps after timeouts, concurrently with itself,
// changes the stock once.
func TestConcurrentRepeatsOfOneOrderApplyOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.product(t, 10), f.product(t, 10)
	order := uuid.New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := f.svc.Reserve(ctx, order, lines(a, 2, b, 3)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.stock(t, a).Reserved != 2 || f.stock(t, b).Reserved != 3 {
		t.Fatalf("after repeated reserves: %+v %+v", f.stock(t, a), f.stock(t, b))
	}
	for range 8 {
		wg.Go(func() {
			if err := f.svc.Commit(ctx, order); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.stock(t, a) != (inventoryapi.Stock{OnHand: 8, Available: 8}) || f.stock(t, b) != (inventoryapi.Stock{OnHand: 7, Available: 7}) {
		t.Fatalf("after repeated commits: %+v %+v", f.stock(t, a), f.stock(t, b))
	}
	f.conserved(t, a, 10)
	f.conserved(t, b, 10)
}

// Reserving the maximum order (100 lines) works in one transaction.
func TestReserveLargestOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ls []inventoryapi.Line
	for range 100 {
		ls = append(ls, inventoryapi.Line{ProductID: f.product(t, 3), Quantity: int64(1 + rand.IntN(3))})
	}
	order := uuid.New()
	if err := f.svc.Reserve(context.Background(), order, ls); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if s := f.stock(t, l.ProductID); s.Reserved != l.Quantity {
			t.Fatalf("%s: %+v, want %d reserved", l.ProductID, s, l.Quantity)
		}
	}
	if err := f.svc.Release(context.Background(), order); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		f.conserved(t, l.ProductID, 3)
	}
}

// A reserve that arrives after its order was released (the saga gave up on
// it) holds nothing, even when both race.
func TestLateReserveAfterReleaseHoldsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tea := f.product(t, 5)
	order := uuid.New()
	if err := f.svc.Release(ctx, order); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Reserve(ctx, order, []inventoryapi.Line{{ProductID: tea, Quantity: 2}}); !errors.Is(err, inventoryapi.ErrReservationState) {
		t.Fatalf("late reserve: %v", err)
	}
	if s := f.stock(t, tea); s.Reserved != 0 {
		t.Fatalf("stock %+v", s)
	}
	for range 20 {
		order := uuid.New()
		var wg sync.WaitGroup
		wg.Go(func() { _ = f.svc.Reserve(ctx, order, []inventoryapi.Line{{ProductID: tea, Quantity: 1}}) })
		wg.Go(func() {
			if err := f.svc.Release(ctx, order); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
	}
	if s := f.stock(t, tea); s.Reserved != 0 || s.OnHand != 5 {
		t.Fatalf("after racing reserves and releases: %+v", s)
	}
}

// Orders of one product arrive at once, more than its units can serve,
// each reserving one to three units and then committing or releasing them:
// the stock is never oversold, and every unit is accounted for.
func TestOneProductUnderConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := f.product(t, 50)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var committed, short int64
	for i := range 64 {
		wg.Go(func() {
			order, q := uuid.New(), 1+i%3
			<-start
			err := f.svc.Reserve(ctx, order, lines(p, q))
			if errors.Is(err, inventoryapi.ErrInsufficientStock) {
				mu.Lock()
				short++
				mu.Unlock()
				return
			}
			if err != nil {
				t.Errorf("reserve %d: %v", i, err)
				return
			}
			if i%2 == 0 {
				err = f.svc.Release(ctx, order)
			} else if err = f.svc.Commit(ctx, order); err == nil {
				mu.Lock()
				committed += int64(q)
				mu.Unlock()
			}
			if err != nil {
				t.Errorf("order %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if s := f.stock(t, p); s != (inventoryapi.Stock{OnHand: 50 - committed, Available: 50 - committed}) || short == 0 {
		t.Fatalf("%d units committed, %d orders short, stock %+v", committed, short, s)
	}
	f.conserved(t, p, 50)
}
