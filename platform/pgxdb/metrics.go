package pgxdb

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector reports the pool of every module database added to it:
// connections by state and how often acquiring one had to wait, so a pool
// too small for its load shows before requests time out.
type PoolCollector struct {
	mu  sync.Mutex
	dbs []*DB

	conns, acquires, empty, wait *prometheus.Desc
}

// NewPoolCollector returns a collector with no database yet.
func NewPoolCollector() *PoolCollector {
	l := []string{"module"}
	return &PoolCollector{
		conns: prometheus.NewDesc("db_pool_connections",
			"Connections of the module's pool, by state: acquired, idle, constructing, and max (its size).", []string{"module", "state"}, nil),
		acquires: prometheus.NewDesc("db_pool_acquires_total", "Connections acquired from the module's pool.", l, nil),
		empty: prometheus.NewDesc("db_pool_empty_acquires_total",
			"Acquires that found no idle connection and had to wait for one (or for a new one).", l, nil),
		wait: prometheus.NewDesc("db_pool_acquire_wait_seconds_total", "Time spent acquiring connections from the module's pool.", l, nil),
	}
}

// Add reports db's pool from now on.
func (c *PoolCollector) Add(db *DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dbs = append(c.dbs, db)
}

func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.acquires
	ch <- c.empty
	ch <- c.wait
}

func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	dbs := append([]*DB(nil), c.dbs...)
	c.mu.Unlock()
	for _, db := range dbs {
		s := db.Pool.Stat()
		for state, n := range map[string]int32{
			"acquired": s.AcquiredConns(), "idle": s.IdleConns(), "constructing": s.ConstructingConns(), "max": s.MaxConns(),
		} {
			ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(n), db.Module, state)
		}
		ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()), db.Module)
		ch <- prometheus.MustNewConstMetric(c.empty, prometheus.CounterValue, float64(s.EmptyAcquireCount()), db.Module)
		ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, s.AcquireDuration().Seconds(), db.Module)
	}
}
