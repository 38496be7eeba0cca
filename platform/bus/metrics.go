package bus

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	relayed       *prometheus.CounterVec
	relayFailures *prometheus.CounterVec
	relayBatches  *prometheus.CounterVec
	relayDelay    *prometheus.HistogramVec
	handled       *prometheus.CounterVec
	handleTime    *prometheus.HistogramVec
	deadLettered  *prometheus.CounterVec
	deadPruned    *prometheus.CounterVec
	// transientRetries counts retries after a transient failure, which
	// are not bounded: a steady rate means a dependency is down.
	transientRetries *prometheus.CounterVec
	stores           *storeCollector
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_outbox_relayed_total", Help: "Outbox events published, by module and topic.",
		}, []string{"module", "topic"}),
		relayBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_outbox_batches_total", Help: "Outbox batches marked delivered (one DELETE commit each), by module.",
		}, []string{"module"}),
		relayFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_outbox_publish_failures_total", Help: "Failed outbox publish attempts, by module.",
		}, []string{"module"}),
		relayDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bus_outbox_lag_seconds", Help: "Time from outbox insert to confirmed publish.", Buckets: latencyBuckets,
		}, []string{"module"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_handler_messages_total", Help: "Messages handled, by handler and outcome (ok, duplicate, error, dead_lettered).",
		}, []string{"handler", "outcome"}),
		handleTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bus_handler_duration_seconds", Help: "Time spent in one handler attempt.", Buckets: latencyBuckets,
		}, []string{"handler"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_dead_letters_total", Help: "Messages moved to the dead-letter store, by handler.",
		}, []string{"handler"}),
		deadPruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_dead_letters_pruned_total", Help: "Dead letters deleted for being older than the retention, by module.",
		}, []string{"module"}),
		transientRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bus_handler_transient_retries_total", Help: "Handler attempts that failed transiently (database or network unavailable, serialization failure, lock timeout) and are retried without limit, by handler.",
		}, []string{"handler"}),
		stores: newStoreCollector(),
	}
	if reg != nil {
		reg.MustRegister(m.relayed, m.relayBatches, m.relayFailures, m.relayDelay, m.handled, m.handleTime, m.deadLettered, m.transientRetries, m.stores)
		reg.MustRegister(m.deadPruned)
	}
	return m
}
