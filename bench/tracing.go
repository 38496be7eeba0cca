package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// tracingModes are the runs of the tracing cost measurement: the same
// monolith on gochannel with tracing off (OTEL_SDK_DISABLED) and on (every
// span sampled and kept by the in-memory recorder; no exporter, whose cost
// is the network's).
var tracingModes = []struct {
	label string
	env   []string
}{
	{"tracing off", []string{"OTEL_SDK_DISABLED=true"}},
	{"tracing on", []string{"OTEL_SDK_DISABLED=false", "OTEL_TRACES_SAMPLER=always_on",
		"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="}},
}

// tracingCost measures the checkout of the monolith on gochannel with
// tracing off, then on, in the same run (-checkout-rounds times, the modes
// alternating, since a shared machine is noisy), and prints what tracing
// costs: the ratio of throughputs and of cmd/app's CPU time per confirmed
// order (steadier than throughput when other work shares the machine), per
// round and their medians.
func tracingCost(ctx context.Context, c checkoutConfig) error {
	var ratios, cpuRatios []float64
	for round := 1; round <= c.rounds; round++ {
		perSec := make([]float64, len(tracingModes))
		cpuPerOrder := make([]time.Duration, len(tracingModes))
		for i, mode := range tracingModes {
			a, err := startApp(c.bin, c.dsn, c.dir, c.clients, append([]string{"APP_BUS=gochannel"}, mode.env...)...)
			if err != nil {
				return fmt.Errorf("start cmd/app with %s: %w", mode.label, err)
			}
			res, err := checkoutBench(a, c.clients, c.products, c.duration)
			a.stop()
			if err != nil {
				return fmt.Errorf("checkout with %s: %w", mode.label, err)
			}
			perSec[i] = res.perSec
			if res.confirmed > 0 {
				cpuPerOrder[i] = res.cpu / time.Duration(res.confirmed)
			}
			fmt.Printf("checkout gochannel %-12s                  %8.1f orders/s   (%d clients, %d confirmed, %d errors)\n",
				mode.label, res.perSec, c.clients, res.confirmed, res.errors)
			fmt.Printf("  cmd/app CPU per confirmed order               %8.2f ms\n", float64(cpuPerOrder[i])/float64(time.Millisecond))
			fmt.Printf("  placement -> confirmed, seen by clients       %s\n", res.latencies)
		}
		if perSec[0] > 0 {
			ratios = append(ratios, perSec[1]/perSec[0])
			fmt.Printf("  throughput, tracing on / off                  %8.2f          (1.00: free)\n", ratios[len(ratios)-1])
		}
		if cpuPerOrder[0] > 0 && cpuPerOrder[1] > 0 {
			cpuRatios = append(cpuRatios, float64(cpuPerOrder[1])/float64(cpuPerOrder[0]))
			fmt.Printf("  CPU per order, tracing on / off               %8.2f          (1.00: free)\n", cpuRatios[len(cpuRatios)-1])
		}
	}
	if len(ratios) > 1 {
		fmt.Printf("tracing on / off, median of %d rounds: throughput %.2f, CPU per order %.2f\n",
			len(ratios), median(ratios), median(cpuRatios))
	}
	return ctx.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}
