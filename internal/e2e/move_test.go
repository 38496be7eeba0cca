package e2e_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/modules/payments/paymentsapi"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgtest"
)

// TestOfflineMoveOfEveryModule moves each module's data out of the
// monolith's database with `extract data` (offline, SPEC §8) and runs the
// module's own binary on its new database: the shop's history (orders of
// every outcome, payments, refunds, notifications, accounts, products) is
// all still there and true, the sagas in flight at the stop finish, stock is
// conserved, and the shop keeps working (login, new orders, cancel and
// refund of an old order). While the module still runs on the source,
// extract data refuses and leaves the target untouched.
func TestOfflineMoveOfEveryModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the monolith and a module binary per module")
	}
	t.Parallel()
	// The monolith is killed (-9) before some moves, stopped with SIGTERM
	// before the others.
	crash := map[string]bool{"payments": true, "ordering": true, "inventory": true}
	// One module at a time: a monolith and a module binary hold about 35
	// of the server's connections, shared with the other tests.
	for _, m := range surfaces.Names() {
		t.Run(m, func(t *testing.T) {
			sig := syscall.SIGTERM
			if crash[m] {
				sig = syscall.SIGKILL
			}
			offlineMove(t, m, sig)
		})
	}
}

func offlineMove(t *testing.T, module string, stop syscall.Signal) {
	started := time.Now()
	d := newDeployment(t, "amqp")
	src := adminDSN(t, d.env["DATABASE_URL"])
	dst := pgtest.NewDatabase(t)

	mono := d.start(t, nil)
	h := buildHistory(t, mono)

	// While the module runs on the source: refused, the target untouched.
	res := runExtract(t, "data", module, "--from", src, "--to", dst)
	if res.code != 1 || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, "_"+module+" connected") {
		t.Fatalf("extract data while %s runs on the source: exit %d, stderr %q, want exit 1 and one line naming the sessions", module, res.code, res.stderr)
	}
	if s := schemasOf(t, dst); len(s) != 0 {
		t.Fatalf("the refused move left schemas %v in the target", s)
	}

	h.placeInFlight(t, mono)
	if err := mono.signal(stop); stop == syscall.SIGKILL && err == nil {
		t.Fatal("the monolith exited cleanly after SIGKILL")
	}
	eventually(t, "the sessions of "+module+" to leave the source", func() bool { return sessions(t, src, module) == 0 })
	var pending int
	queryDB(t, src, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM ordering.orders WHERE status = 'pending'`).Scan(&pending)
	})
	if stop == syscall.SIGKILL && pending == 0 {
		t.Fatal("no order was pending when the monolith was killed: nothing tests the sagas' resumption")
	}

	// An event committed on the source but not relayed before the stop must
	// be relayed from the target, once in effect.
	var unrelayed uuid.UUID
	if module == "payments" {
		unrelayed = leaveUnrelayedRefund(t, src, uuid.MustParse(h.customers[0].id))
	}

	res = runExtract(t, "data", module, "--from", src, "--to", dst)
	if res.code != 0 || !strings.Contains(res.stdout, "moved "+module+" from") || !strings.Contains(res.stdout, "verified") {
		t.Fatalf("extract data: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	res = runExtract(t, "data", module, "--from", src, "--to", dst)
	if res.code != 0 || !strings.Contains(res.stdout, "already moved") {
		t.Fatalf("extract data again: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	moved := time.Now()

	// The monolith again, the module in its own binary on its new database.
	monoAddr, modAddr := freeAddr(t), freeAddr(t)
	up := strings.ToUpper(module)
	modEnv := map[string]string{"DATABASE_URL": "", up + "_DATABASE_URL": smallPools(dst)}
	for _, o := range surfaces.Names() {
		if o != module {
			modEnv["APP_REMOTE_"+strings.ToUpper(o)] = "http://" + monoAddr
		}
	}
	modProc := d.launch(t, extracted[module], modAddr, modEnv)
	mono = d.launch(t, appBinary, monoAddr, map[string]string{"APP_REMOTE_" + up: "http://" + modAddr})
	modProc.waitReady(t)
	mono.waitReady(t)

	h.verify(t, mono)
	if unrelayed != uuid.Nil {
		c := mono.as(h.customers[0].client.bearer)
		eventually(t, "the refund left in the old outbox to be notified", func() bool {
			return hasNote(notificationsOf(t, c), unrelayed.String())
		})
		time.Sleep(time.Second) // a second delivery would show by now
		n := 0
		for _, note := range notificationsOf(t, c) {
			if strings.Contains(note.Body, unrelayed.String()) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the refund left in the old outbox was notified %d times, want once", n)
		}
	}

	// The module runs on its new database only.
	if n := sessions(t, src, module); n != 0 {
		t.Errorf("%d session(s) of %s on the old database after the move", n, module)
	}
	if n := sessions(t, dst, module); n == 0 {
		t.Errorf("no session of %s on its new database", module)
	}
	t.Logf("%s: %d order(s) pending at the stop (%v); history built and moved in %v, verified after the move in %v",
		module, pending, stop, moved.Sub(started).Round(time.Millisecond), time.Since(moved).Round(time.Millisecond))
}

// history is what the shop went through before the move, as its clients
// saw it.
type history struct {
	products  []product
	initial   map[string]int64 // product ID → on_hand when stocked
	customers []customer
	orders    []pastOrder
	payments  map[string][]payment // order ID → its payments, at the stop
	notes     [][]string           // by customer: notification IDs, at the stop
	keep      int                  // index of a confirmed order to cancel after the move
}

type pastOrder struct {
	id       string
	customer int
	token    string
	status   string // at the stop; "" when it was in flight
	total    int64
}

// buildHistory stocks two products, registers two customers, and settles
// orders of every outcome: confirmed (tok_ok), declined (tok_decline),
// timed out (tok_slow), and a confirmed one cancelled and refunded. It
// waits for their payments and notifications and records what it saw.
func buildHistory(t *testing.T, app *process) *history {
	t.Helper()
	admin := app.admin(t)
	tea, cup := stocked(t, admin, 450, 40), stocked(t, admin, 1200, 20)
	h := &history{
		products:  []product{tea, cup},
		initial:   map[string]int64{tea.ID: 40, cup.ID: 20},
		customers: []customer{app.newCustomer(t), app.newCustomer(t)},
		payments:  map[string][]payment{},
	}
	plan := []struct {
		customer int
		token    string
		lines    []any
		want     string
	}{
		{0, "tok_ok", []any{tea, int64(2)}, "confirmed"},
		{0, "tok_ok", []any{tea, int64(1), cup, int64(1)}, "confirmed"},
		{1, "tok_ok", []any{cup, int64(2)}, "confirmed"},
		{1, "tok_decline", []any{tea, int64(1)}, "cancelled"},
		{0, "tok_slow", []any{cup, int64(1)}, "cancelled"},
		{1, "tok_ok", []any{tea, int64(3)}, "confirmed"}, // cancelled after the move
		{0, "tok_ok", []any{tea, int64(1)}, "confirmed"}, // cancelled before the move
		{1, "tok_ok", []any{tea, int64(1), cup, int64(1)}, "confirmed"},
	}
	h.keep = 5
	for _, p := range plan {
		c := h.customers[p.customer].client
		h.orders = append(h.orders, pastOrder{id: place(t, c, p.token, p.lines...), customer: p.customer, token: p.token})
	}
	for i, p := range plan {
		o := settled(t, h.customers[p.customer].client, h.orders[i].id)
		if o.Status != p.want {
			t.Fatalf("order %d (%s) ended %s, want %s", i, p.token, o.Status, p.want)
		}
	}
	// A confirmed order cancelled: refunded, its units back.
	refunded := h.orders[6]
	c := h.customers[refunded.customer].client
	if r := c.do("POST", "/api/v1/orders/"+refunded.id+"/cancel", nil); r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	eventually(t, "the cancelled order's refund", func() bool {
		ps := paymentsOf(t, c, refunded.id)
		return len(ps) == 1 && ps[0].Status == "refunded"
	})

	for i := range h.orders {
		o := &h.orders[i]
		c := h.customers[o.customer].client
		got := settled(t, c, o.id)
		o.status, o.total = got.Status, got.Total
		h.payments[o.id] = paymentsOf(t, c, o.id)
	}
	// Every outcome has been told to its customer.
	for ci, cu := range h.customers {
		var ids []string
		eventually(t, "the notifications of every order", func() bool {
			notes := notificationsOf(t, cu.client)
			for _, o := range h.orders {
				if o.customer != ci {
					continue
				}
				if !hasNote(notes, "Order "+o.id+" "+map[string]string{"confirmed": "is confirmed", "cancelled": "was cancelled"}[o.status]) {
					return false
				}
			}
			if ci == refunded.customer && !hasNote(notes, "for order "+refunded.id+" is on its way") {
				return false
			}
			ids = ids[:0]
			for _, n := range notes {
				ids = append(ids, n.ID)
			}
			return true
		})
		h.notes = append(h.notes, ids)
	}
	return h
}

// placeInFlight places orders right before the stop: their sagas are in
// flight when the monolith stops.
func (h *history) placeInFlight(t *testing.T, app *process) {
	t.Helper()
	tea, cup := h.products[0], h.products[1]
	for _, p := range []struct {
		customer int
		token    string
		lines    []any
	}{
		{0, "tok_ok", []any{tea, int64(1)}},
		{1, "tok_slow", []any{cup, int64(1)}},
		{1, "tok_ok", []any{cup, int64(1), tea, int64(2)}},
	} {
		c := app.as(h.customers[p.customer].client.bearer)
		h.orders = append(h.orders, pastOrder{id: place(t, c, p.token, p.lines...), customer: p.customer, token: p.token})
	}
}

// verify checks, through app, that the history is intact after the move
// and that the shop still works.
func (h *history) verify(t *testing.T, app *process) {
	t.Helper()
	app.admin(t)
	// Old credentials log in; old tokens still hold.
	clients := make([]*process, len(h.customers))
	for i, cu := range h.customers {
		var me struct{ ID string }
		r := app.as(cu.client.bearer).do("GET", "/api/v1/users/me", nil)
		if r.status != http.StatusOK {
			t.Fatalf("users/me with the token from before the move: %d %s", r.status, r.body)
		}
		r.json(t, &me)
		if me.ID != cu.id {
			t.Fatalf("users/me: %s, want %s", me.ID, cu.id)
		}
		clients[i] = app.login(t, cu.email, "correct horse battery")
	}
	// Products as they were.
	for _, p := range h.products {
		var got product
		r := app.do("GET", "/api/v1/products/"+p.ID, nil)
		if r.status != http.StatusOK {
			t.Fatalf("product %s: %d %s", p.ID, r.status, r.body)
		}
		r.json(t, &got)
		if got != p {
			t.Errorf("product after the move %+v, before %+v", got, p)
		}
	}
	// Every order as it was, with its payments; those in flight end.
	for _, o := range h.orders {
		c := clients[o.customer]
		got := settled(t, c, o.id)
		switch {
		case o.status != "" && (got.Status != o.status || got.Total != o.total):
			t.Errorf("order %s is %s (total %d) after the move, was %s (total %d)", o.id, got.Status, got.Total, o.status, o.total)
		case o.status == "" && o.token == "tok_slow" && got.Status != "cancelled":
			t.Errorf("order %s (tok_slow) in flight at the stop ended %s", o.id, got.Status)
		case o.status != "":
			if ps := paymentsOf(t, c, o.id); !samePayments(ps, h.payments[o.id]) {
				t.Errorf("payments of order %s after the move %+v, before %+v", o.id, ps, h.payments[o.id])
			}
		}
		checkCharged(t, c, o.id, got.Status)
	}
	// Every notification is still there.
	for i, ids := range h.notes {
		notes := notificationsOf(t, clients[i])
		for _, id := range ids {
			if !slices.ContainsFunc(notes, func(n notification) bool { return n.ID == id }) {
				t.Errorf("customer %d lost notification %s in the move", i, id)
			}
		}
	}

	// An order confirmed before the move is cancelled and refunded now.
	kept := h.orders[h.keep]
	c := clients[kept.customer]
	if r := c.do("POST", "/api/v1/orders/"+kept.id+"/cancel", nil); r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("cancel an order from before the move: %d %s", r.status, r.body)
	}
	eventually(t, "the old order's refund", func() bool {
		ps := paymentsOf(t, c, kept.id)
		return len(ps) == 1 && ps[0].Status == "refunded"
	})
	h.orders[h.keep].status = "cancelled"
	// New orders confirm, from an old customer and from a new one.
	tea, cup := h.products[0], h.products[1]
	fresh := app.newCustomer(t)
	h.customers = append(h.customers, fresh)
	clients = append(clients, fresh.client)
	for _, n := range []pastOrder{
		{customer: 0, token: "tok_ok"},
		{customer: len(clients) - 1, token: "tok_ok"},
	} {
		n.id = place(t, clients[n.customer], n.token, tea, int64(1), cup, int64(1))
		if o := settled(t, clients[n.customer], n.id); o.Status != "confirmed" {
			t.Fatalf("a new order ended %s", o.Status)
		}
		n.status = "confirmed"
		h.orders = append(h.orders, n)
	}
	// New notifications arrive next to the old ones.
	eventually(t, "the notifications of the cancel and the new orders", func() bool {
		k := notificationsOf(t, clients[kept.customer])
		o := notificationsOf(t, clients[0])
		f := notificationsOf(t, fresh.client)
		last := h.orders[len(h.orders)-1].id
		return hasNote(k, "Order "+kept.id+" was cancelled") && hasNote(k, "for order "+kept.id+" is on its way") &&
			hasNote(o, "Order "+h.orders[len(h.orders)-2].id+" is confirmed") &&
			hasNote(f, "is ready") && hasNote(f, "Order "+last+" is confirmed")
	})

	// Stock is conserved: initial on_hand = on_hand now + the units of the
	// confirmed orders, nothing reserved.
	units := map[string]int64{}
	for _, o := range h.orders {
		got := settled(t, clients[o.customer], o.id)
		if got.Status != "confirmed" {
			continue
		}
		for _, l := range got.Items {
			units[l.ProductID] += l.Quantity
		}
	}
	for _, p := range h.products {
		eventually(t, "stock of "+p.Name+" to be conserved", func() bool {
			st := stockOf(t, app, p)
			return st.Reserved == 0 && st.OnHand+units[p.ID] == h.initial[p.ID]
		})
	}
}

// checkCharged: a confirmed order was captured exactly once and not
// refunded; a cancelled one holds no captured money.
func checkCharged(t *testing.T, c *process, orderID, status string) {
	t.Helper()
	captures := 0
	var statuses []string
	for _, p := range paymentsOf(t, c, orderID) {
		statuses = append(statuses, p.Status)
		for _, e := range p.Events {
			if e.Type == "payment.captured" {
				captures++
			}
		}
	}
	switch {
	case captures > 1:
		t.Errorf("order %s captured %d times", orderID, captures)
	case status == "confirmed" && (captures != 1 || !slices.Equal(statuses, []string{"captured"})):
		t.Errorf("confirmed order %s: payments %v, %d captures", orderID, statuses, captures)
	case status == "cancelled" && slices.Contains(statuses, "captured"):
		t.Errorf("cancelled order %s keeps a captured payment", orderID)
	}
}

func samePayments(a, b []payment) bool {
	return slices.EqualFunc(a, b, func(x, y payment) bool {
		return x.ID == y.ID && x.Status == y.Status && x.Amount == y.Amount && x.Currency == y.Currency && len(x.Events) == len(y.Events)
	})
}

type notification struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

func notificationsOf(t *testing.T, c *process) []notification {
	t.Helper()
	var list struct{ Items []notification }
	r := c.do("GET", "/api/v1/notifications?limit=200", nil)
	if r.status != http.StatusOK {
		t.Fatalf("notifications: %d %s", r.status, r.body)
	}
	r.json(t, &list)
	return list.Items
}

func hasNote(notes []notification, text string) bool {
	return slices.ContainsFunc(notes, func(n notification) bool { return strings.Contains(n.Body, text) })
}

// leaveUnrelayedRefund commits, in payments' outbox of the database at dsn
// (as payments would, but with no process to relay it), a refund of an
// order of customer, and returns the order's ID.
func leaveUnrelayedRefund(t *testing.T, dsn string, customer uuid.UUID) uuid.UUID {
	t.Helper()
	order := uuid.New()
	queryDB(t, dsn, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL search_path = payments`); err != nil {
				return err
			}
			return bus.Outbox{}.Add(ctx, tx, paymentsapi.PaymentRefundedV1{
				PaymentID: uuid.New(), OrderID: order, CustomerID: customer, Amount: 1234, Currency: "EUR", Reason: "left in the outbox",
			})
		})
	})
	return order
}

// adminDSN is a deployment's DATABASE_URL without the pool parameters: the
// psql-style URL an operator gives extract.
func adminDSN(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sessions counts the sessions of module's pools (application_name
// shop-<module>) connected to the database at dsn: its role is named per
// database, and the old schema may be gone.
func sessions(t *testing.T, dsn, module string) int {
	t.Helper()
	var n int
	queryDB(t, dsn, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, "shop-"+module).Scan(&n)
	})
	return n
}

// schemasOf lists the schemas of the database at dsn that Postgres did not
// create.
func schemasOf(t *testing.T, dsn string) []string {
	t.Helper()
	var names []string
	queryDB(t, dsn, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname NOT IN ('public', 'information_schema') ORDER BY 1`)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return names
}

func queryDB(t *testing.T, dsn string, f func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := f(ctx, c); err != nil {
		t.Fatal(err)
	}
}

type extractResult struct {
	code           int
	stdout, stderr string
}

var extractBuild struct {
	once sync.Once
	path string
	err  error
}

// runExtract runs the extract command, built once, from the repository
// root.
func runExtract(t *testing.T, args ...string) extractResult {
	t.Helper()
	extractBuild.once.Do(func() {
		extractBuild.path = filepath.Join(binDir, "extract")
		build := exec.Command("go", "build", "-o", extractBuild.path, "./cmd/extract")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			extractBuild.err = err
			t.Logf("go build ./cmd/extract:\n%s", out)
		}
	})
	if extractBuild.err != nil {
		t.Fatalf("build cmd/extract: %v", extractBuild.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, extractBuild.path, args...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := extractResult{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("extract %s: %v", strings.Join(args, " "), err)
		}
		res.code = ee.ExitCode()
	}
	return res
}
