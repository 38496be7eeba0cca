package bus

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// brokerPingTimeout bounds the broker check behind bus_broker_up, so a scrape
// never waits on a hung broker.
const brokerPingTimeout = time.Second

// newBrokerUp is the bus_broker_up gauge: 1 while the transport reaches its
// broker, 0 while not. A broker outage leaves the process ready (the outbox
// keeps the events until it is back), so this gauge, not readiness, is what
// alerts on it.
func newBrokerUp(t Transport) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "bus_broker_up",
		Help:        "1 while the bus reaches its message broker, 0 while not (the outbox holds events meanwhile).",
		ConstLabels: prometheus.Labels{"transport": t.Driver()},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), brokerPingTimeout)
		defer cancel()
		if t.Ping(ctx) != nil {
			return 0
		}
		return 1
	})
}
