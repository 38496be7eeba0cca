package rpc

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modmono/shop/platform/apperr"
)

// Metric names, for dashboards and tests.
const (
	BreakerMetric = "rpc_breaker_state"
	CallsMetric   = "rpc_client_calls_total"
)

// metrics are the remote-call metrics of a process.
type metrics struct {
	reg      prometheus.Registerer
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	up       *prometheus.GaugeVec
}

// newMetrics registers the call metrics with reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: CallsMetric,
			Help: "Calls to remote modules by outcome: ok, error (the module answered with an error), unavailable, overloaded, cancelled (by the caller).",
		}, []string{"remote", "method", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rpc_client_call_duration_seconds",
			Help:    "Duration of calls to remote modules, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"remote", "method"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rpc_instance_up",
			Help: "Whether an instance of a remote module is in its pool (1) or ejected (0).",
		}, []string{"remote", "instance"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration, m.up} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// add exports c's breaker state and bulkhead use, and follows its instances.
func (m *metrics) add(c *Client) {
	labels := prometheus.Labels{"remote": c.module}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        BreakerMetric,
			Help:        "State of the circuit breaker of a remote module: 0 closed, 1 half-open, 2 open.",
			ConstLabels: labels,
		}, func() float64 { return float64(c.breaker.State()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "rpc_bulkhead_in_use",
			Help:        "Calls in flight to a remote module (the bulkhead's used slots).",
			ConstLabels: labels,
		}, func() float64 { return float64(len(c.slots)) }),
	)
	for _, in := range c.pool.instances {
		m.up.WithLabelValues(c.module, in.base).Set(1)
		in.onChange = func(base string, up bool) {
			m.up.WithLabelValues(c.module, base).Set(map[bool]float64{true: 1}[up])
		}
	}
}

func (m *metrics) observe(remote, method string, err error, d time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, errCallerGone), errors.Is(err, context.Canceled):
		outcome = "cancelled"
	case errors.Is(err, ErrOverloaded):
		outcome = "overloaded"
	case errors.Is(err, ErrUnavailable):
		outcome = "unavailable"
	case apperr.KindOf(err) == apperr.KindInternal:
		outcome = "unavailable"
	default:
		outcome = "error"
	}
	m.calls.WithLabelValues(remote, method, outcome).Inc()
	m.duration.WithLabelValues(remote, method).Observe(d.Seconds())
}
