package bus

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modmono/shop/platform/pgxdb"
)

// storeCollector reports, at scrape time, what waits in each relayed
// module's messaging tables: the outbox backlog and the age of its oldest
// event (a stuck relay shows as an age that keeps growing), and the dead
// letters held. Counters of what went through cannot show a backlog; a
// query when Prometheus asks can, and costs nothing between scrapes.
type storeCollector struct {
	mu  sync.Mutex
	dbs []*pgxdb.DB

	backlog, oldest, dead *prometheus.Desc
}

// scrapeTimeout bounds the query of one module's tables per scrape.
const scrapeTimeout = 2 * time.Second

func newStoreCollector() *storeCollector {
	return &storeCollector{
		backlog: prometheus.NewDesc("bus_outbox_backlog", "Events in the module's outbox not yet relayed.", []string{"module"}, nil),
		oldest: prometheus.NewDesc("bus_outbox_oldest_age_seconds",
			"Age of the oldest event in the module's outbox not yet relayed; 0 when none waits.", []string{"module"}, nil),
		dead: prometheus.NewDesc("bus_dead_letters", "Dead letters the module holds (listed and replayed through the admin API).", []string{"module"}, nil),
	}
}

func (c *storeCollector) add(db *pgxdb.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dbs = append(c.dbs, db)
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.backlog
	ch <- c.oldest
	ch <- c.dead
}

// Collect queries each module's tables; a module whose database does not
// answer in time is left out of this scrape (its readiness check says why).
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	dbs := append([]*pgxdb.DB(nil), c.dbs...)
	c.mu.Unlock()
	for _, db := range dbs {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		var backlog, dead int64
		var oldest float64
		err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox),
			coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM outbox), 0)::float8,
			(SELECT count(*) FROM dead_letters)`).Scan(&backlog, &oldest, &dead)
		cancel()
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(backlog), db.Module)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest, db.Module)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(dead), db.Module)
	}
}
