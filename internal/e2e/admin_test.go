package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/bus"
)

// TestAdminAPI: the admin API answers for the whole system from the entry
// process, whichever processes run the modules: one deployment per
// topology, the scenarios as subtests.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	for _, topo := range []topology{
		{name: "monolith", bus: "gochannel"},
		{name: "payments-extracted", bus: "amqp", extract: []string{"payments"}},
		{name: "fully-extracted", bus: "amqp", extract: surfaces.Names()},
	} {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			s := deploy(t, topo)
			t.Run("admins only", func(t *testing.T) { adminOnly(t, s) })
			t.Run("architecture", func(t *testing.T) { adminArchitecture(t, s, topo) })
			t.Run("events of every process", func(t *testing.T) { adminEvents(t, s) })
			t.Run("saga", func(t *testing.T) { adminSaga(t, s) })
			t.Run("outbox", func(t *testing.T) { adminOutbox(t, s, topo) })
			if topo.bus == "amqp" {
				t.Run("dead letters gathered and replayed where held", func(t *testing.T) { adminDeadLetters(t, s, topo) })
			}
			t.Run("a stuck event stream does not slow checkouts", func(t *testing.T) { stuckStream(t, s) })
		})
	}
}

// where returns the process value the admin API gives for module m.
func (s *shop) where(m string) string {
	if spec, ok := s.specs[m]; ok && spec.internal != "" {
		return "http://" + spec.internal // where the others reach it
	} else if ok {
		return "http://" + spec.addr
	}
	return "local"
}

func adminOnly(t *testing.T, s *shop) {
	customer := s.token(t, auth.Customer)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/admin/architecture"}, {"GET", "/api/v1/admin/events"}, {"GET", "/api/v1/admin/outbox"},
		{"GET", "/api/v1/admin/dead-letters"}, {"POST", "/api/v1/admin/dead-letters/" + uuid.NewString() + "/replay"},
		{"GET", "/api/v1/admin/sagas/" + uuid.NewString()},
	} {
		for who, want := range map[string]int{"": 401, customer: 403} {
			if got := s.entry.as(who).do(r.method, r.path, nil); got.status != want {
				t.Errorf("%s %s (token %t): %d %s, want %d", r.method, r.path, who != "", got.status, got.body, want)
			}
		}
	}
}

type architecture struct {
	Modules []archModule
}

type archModule struct {
	Name, Process, Schema, Database, Health, Breaker, Error string
	Local                                                   bool
	Instances                                               []struct {
		URL string
		Up  bool
	}
	Calls, Publishes, Consumes []string
}

// adminArchitecture: every module, where it runs, its database and its
// health, as the topology deployed them.
func adminArchitecture(t *testing.T, s *shop, topo topology) {
	admin := s.entry.as(s.token(t, auth.Admin))
	var arch architecture
	// The entry's health checks of the other processes start with the process.
	eventually(t, "every module up", func() bool {
		r := admin.do("GET", "/api/v1/admin/architecture", nil)
		if r.status != http.StatusOK {
			t.Fatalf("architecture: %d %s", r.status, r.body)
		}
		r.json(t, &arch)
		return !slices.ContainsFunc(arch.Modules, func(m archModule) bool { return m.Health != "up" })
	})
	var names []string
	databases := map[string]bool{}
	for _, m := range arch.Modules {
		names = append(names, m.Name)
		extracted := slices.Contains(topo.extract, m.Name)
		if m.Local == extracted || m.Process != s.where(m.Name) || m.Schema != m.Name {
			t.Errorf("%s: local %t, process %q, schema %q; want local %t, process %q", m.Name, m.Local, m.Process, m.Schema, !extracted, s.where(m.Name))
		}
		if extracted && (m.Breaker != "closed" || len(m.Instances) != 1 || m.Instances[0].URL != s.where(m.Name)) {
			t.Errorf("%s: breaker %q, instances %+v", m.Name, m.Breaker, m.Instances)
		}
		if m.Database == "" || strings.Contains(m.Database, "@") || strings.Contains(m.Database, "postgres:") {
			t.Errorf("%s: database %q, want host:port/dbname without credentials", m.Name, m.Database)
		}
		databases[m.Database] = true
		if m.Publishes == nil || m.Consumes == nil || m.Calls == nil {
			t.Errorf("%s: a list is null", m.Name)
		}
	}
	if !slices.Equal(names, surfaces.Names()) {
		t.Errorf("modules %v, want %v", names, surfaces.Names())
	}
	// Each extracted module has a database of its own; the rest share one.
	if want := len(topo.extract) + min(1, len(surfaces.Names())-len(topo.extract)); len(databases) != want {
		t.Errorf("%d distinct databases, want %d: %v", len(databases), want, databases)
	}
}

// eventStream is an open GET /api/v1/admin/events.
type eventStream struct {
	events chan map[string]any
}

func openEvents(t *testing.T, s *shop, query string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.entry.base+"/api/v1/admin/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+s.token(t, auth.Admin))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	es := &eventStream{events: make(chan map[string]any, 1024)}
	go func() {
		defer resp.Body.Close()
		lines := bufio.NewScanner(resp.Body)
		lines.Buffer(nil, 1<<20)
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var e map[string]any
				if json.Unmarshal([]byte(data), &e) == nil {
					es.events <- e
				}
			}
		}
		close(es.events)
	}()
	return es
}

// adminEvents: the stream of the entry process carries the events of one
// checkout, whichever processes publish them.
func adminEvents(t *testing.T, s *shop) {
	all := openEvents(t, s, "")
	payments := openEvents(t, s, "?type=payments.")
	tea := stocked(t, s.entry.as(s.token(t, auth.Admin)), 300, 5)
	c := s.entry.newCustomer(t)
	id := place(t, c.client, "tok_ok", tea, 1)
	if o := settled(t, c.client, id); o.Status != "confirmed" {
		t.Fatalf("order %+v", o)
	}
	about := func(e map[string]any) bool {
		p, _ := e["payload"].(map[string]any)
		return p["order_id"] == id || p["id"] == id
	}
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for !seen["ordering.order_placed"] || !seen["ordering.order_confirmed"] || !seen["payments.payment_captured"] {
		select {
		case e, ok := <-all.events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if about(e) {
				seen[e["type"].(string)] = true
				for _, f := range []string{"id", "type", "version", "occurred_at", "correlation_id", "causation_id", "payload"} {
					if _, ok := e[f]; !ok {
						t.Errorf("the envelope lacks %s: %v", f, e)
					}
				}
			}
		case <-timeout:
			t.Fatalf("within 30 s the stream carried only %v of order %s's events", seen, id)
		}
	}
	for {
		select {
		case e := <-payments.events:
			if !strings.HasPrefix(e["type"].(string), "payments.") {
				t.Fatalf("the payments. filter let %s through", e["type"])
			}
			if about(e) {
				return
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the filtered stream carried no payment event of the order")
		}
	}
}

// adminSaga: the saga of an order, from ordering wherever it runs.
func adminSaga(t *testing.T, s *shop) {
	admin := s.entry.as(s.token(t, auth.Admin))
	tea := stocked(t, admin, 300, 5)
	c := s.entry.newCustomer(t)
	id := place(t, c.client, "tok_decline", tea, 1)
	settled(t, c.client, id)
	var saga struct {
		OrderID string `json:"order_id"`
		Status  string
		Steps   []struct {
			Step, Outcome string
			At            time.Time
		}
	}
	r := admin.do("GET", "/api/v1/admin/sagas/"+id, nil)
	if r.status != http.StatusOK {
		t.Fatalf("saga: %d %s", r.status, r.body)
	}
	r.json(t, &saga)
	if saga.OrderID != id || saga.Status != "cancelled" || len(saga.Steps) < 3 {
		t.Errorf("saga of a declined order: %s", r.body)
	}
	for _, st := range saga.Steps {
		if st.Step == "" || st.Outcome == "" || st.At.IsZero() {
			t.Errorf("step %+v", st)
		}
	}
	if r := admin.do("GET", "/api/v1/admin/sagas/"+uuid.NewString(), nil); r.status != http.StatusNotFound {
		t.Errorf("unknown order: %d %s", r.status, r.body)
	}
	if r := admin.do("GET", "/api/v1/admin/sagas/nope", nil); r.status != http.StatusBadRequest {
		t.Errorf("malformed id: %d %s", r.status, r.body)
	}
}

// adminOutbox: every module's outbox, read where it runs.
func adminOutbox(t *testing.T, s *shop, topo topology) {
	var out struct {
		Modules []struct {
			Module, Process, Error string
			Unrelayed              *int64
			OldestAgeSeconds       *float64 `json:"oldest_age_seconds"`
		}
	}
	r := s.entry.as(s.token(t, auth.Admin)).do("GET", "/api/v1/admin/outbox", nil)
	if r.status != http.StatusOK {
		t.Fatalf("outbox: %d %s", r.status, r.body)
	}
	r.json(t, &out)
	if len(out.Modules) != len(surfaces.Names()) {
		t.Fatalf("outbox: %s", r.body)
	}
	for i, m := range out.Modules {
		if m.Module != surfaces.Names()[i] || m.Process != s.where(m.Module) || m.Unrelayed == nil || m.OldestAgeSeconds == nil || m.Error != "" {
			t.Errorf("outbox of %s: %s", surfaces.Names()[i], r.body)
		}
	}
}

type deadLetters struct {
	Items []struct {
		ID, Module, Handler, Process string
	}
	Unavailable []string
}

// adminDeadLetters: messages that fail for their content in the processes
// of two modules are listed together, each naming its process, and a
// replay reaches the process holding the dead letter; when a process is
// down its modules are named unavailable.
func adminDeadLetters(t *testing.T, s *shop, topo topology) {
	// A malformed message on a topic both notifications and ordering consume.
	conn, err := amqp.Dial(s.env["AMQP_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	marker := uuid.NewString()
	err = ch.PublishWithContext(t.Context(), bus.WireTopic("identity.user_registered", 0), "", false, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(`{"not":"an envelope","marker":"` + marker + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.entry.as(s.token(t, auth.Admin))
	var list deadLetters
	var mine []string // "<module> <process>"
	eventually(t, "both dead letters listed", func() bool {
		r := admin.do("GET", "/api/v1/admin/dead-letters?limit=1000", nil)
		if r.status != http.StatusOK {
			t.Fatalf("dead letters: %d %s", r.status, r.body)
		}
		r.json(t, &list)
		mine = nil
		for _, d := range list.Items {
			if strings.HasPrefix(d.Handler, "notifications.welcome") || strings.HasPrefix(d.Handler, "ordering.replicate_registered_customer") {
				mine = append(mine, d.Module+" "+d.Process)
			}
		}
		return len(mine) == 2
	})
	slices.Sort(mine)
	if want := []string{"notifications " + s.where("notifications"), "ordering " + s.where("ordering")}; !slices.Equal(mine, want) {
		t.Errorf("dead letters %v, want %v", mine, want)
	}
	for _, d := range list.Items {
		if d.Handler != "notifications.welcome" {
			continue
		}
		// The message is still malformed: the holder runs it and keeps it (409).
		r := admin.do("POST", "/api/v1/admin/dead-letters/"+d.ID+"/replay", nil)
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), "bus.replay_failed") {
			t.Errorf("replay of %s's dead letter: %d %s", d.Process, r.status, r.body)
		}
	}
	if r := admin.do("POST", "/api/v1/admin/dead-letters/"+uuid.NewString()+"/replay", nil); r.status != http.StatusNotFound {
		t.Errorf("replay of an unknown dead letter: %d %s", r.status, r.body)
	}
	if !slices.Contains(topo.extract, "notifications") {
		return
	}
	// A process that does not answer leaves its modules out, named.
	if err := s.procs["notifications"].signal(syscall.SIGKILL); err == nil {
		t.Fatal("notifications exited cleanly after SIGKILL")
	}
	defer s.restart(t, "notifications")
	r := admin.do("GET", "/api/v1/admin/dead-letters", nil)
	r.json(t, &list)
	if r.status != http.StatusOK || !slices.Equal(list.Unavailable, []string{"notifications"}) {
		t.Errorf("dead letters with notifications down: %d %s", r.status, r.body)
	}
	var arch architecture
	admin.do("GET", "/api/v1/admin/architecture", nil).json(t, &arch)
	for _, m := range arch.Modules {
		if (m.Name == "notifications") != (m.Health == "down") {
			t.Errorf("with notifications down, %s is %s", m.Name, m.Health)
		}
	}
}

// stuckStream: checkouts per second with and without an event-stream
// client that never reads. Logged, not judged: the figures vary with the
// machine; the test requires every checkout to finish.
func stuckStream(t *testing.T, s *shop) {
	admin := s.entry.as(s.token(t, auth.Admin))
	tea := stocked(t, admin, 100, 10000)
	customers := []customer{s.entry.newCustomer(t), s.entry.newCustomer(t), s.entry.newCustomer(t)}
	checkouts := func(n int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range customers {
			wg.Go(func() {
				for range n / len(customers) {
					if o := settled(t, c.client, place(t, c.client, "tok_ok", tea, 1)); o.Status != "confirmed" {
						t.Errorf("order %+v", o)
					}
				}
			})
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	const n = 30
	without := checkouts(n)

	// A client that sends its request, then never reads: a tiny receive
	// buffer makes the server's writes to it block soon.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(s.entry.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/admin/events HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer %s\r\n\r\n", s.token(t, auth.Admin))
	with := checkouts(n)
	t.Logf("checkouts/s: %.1f without an event-stream client, %.1f with one that never reads", without, with)
}
