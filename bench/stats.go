package main

import (
	"fmt"
	"slices"
	"time"
)

// latencies summarises a set of durations.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p/100*float64(len(s)-1) + 0.5)
	return s[i]
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (n=%d)", ms(l.percentile(50)), ms(l.percentile(99)), ms(l.percentile(100)), len(l))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
