package bus_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/pgxdb"
)

// switchProxy forwards TCP connections to a server while up; taking it
// down cuts the open connections and refuses new ones, as a database
// failing over does, without touching the shared server.
type switchProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *switchProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
	}
}

func (p *switchProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

// While the consumer's database is unreachable (connections cut, new ones
// refused), a message is retried past MaxRetries on the real errors pgx
// returns, and handled once when the database is back: it never reaches
// the dead letters.
func TestDatabaseOutageIsWaitedOutNotDeadLettered(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, driver string) {
		w := newWorld(t, driver)
		u, err := url.Parse(w.dsn)
		if err != nil {
			t.Fatal(err)
		}
		proxy := startProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		consumer, err := pgxdb.Open(context.Background(), u.String()+"&pool_max_conns=2&connect_timeout=2", "consumer",
			[]pgxdb.MigrationSet{bus.Migrations(), {VersionTable: "schema_version", FS: consumerTables}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(consumer.Close)
		direct := w.consumer
		w.consumer = consumer // the handler's database, behind the proxy
		reg := prometheus.NewRegistry()
		b := w.startBus(t, true, reg)

		proxy.setDown(true)
		w.emit(t, "k", 1)
		retries := func() float64 {
			return testutil.ToFloat64(mustCounter(t, reg, "bus_handler_transient_retries_total", w.name))
		}
		waitFor(t, "retries past MaxRetries", func() bool { return retries() > 4 })
		proxy.setDown(false)

		w.consumer = direct // read the outcome without the proxy
		waitFor(t, "the effect", func() bool { return len(w.seen(t)) == 1 })
		if dl, err := b.DeadLetters(context.Background(), 10); err != nil || len(dl) != 0 {
			t.Fatalf("dead letters %+v (%v)", dl, err)
		}
	})
}
