package pgxdb

import (
	"fmt"
	"slices"
)

// A process holds, per local module, a pool and one connection outside it:
// the outbox relay's (platform/bus), which carries a session lock and a
// LISTEN and so leaves the pool. Starting, it opens one more at a time to
// bootstrap each module as the bootstrap role. A connection budget
// (APP_DB_MAX_CONNS) covers all of them, so the operator can add up the
// processes of a deployment against Postgres' max_connections.
const (
	// DedicatedConnsPerModule are the connections of a module outside its
	// pool: the outbox relay's.
	DedicatedConnsPerModule = 1
	// BootstrapConns are the connections a process opens as the bootstrap
	// role, one module after the other, while it starts.
	BootstrapConns = 1
)

// MinBudget is the smallest connection budget of a process running
// modules modules: a pool of MinPoolConns and the dedicated connections of
// each, and the bootstrap connection. No module, no connection.
func MinBudget(modules int) int {
	if modules == 0 {
		return 0
	}
	return modules*(MinPoolConns+DedicatedConnsPerModule) + BootstrapConns
}

// SplitBudget divides budget between modules by weight (a weight below 1
// counts as 1) and returns each module's pool size, in the order of
// weights: what is left once the bootstrap and dedicated connections are
// set aside, in proportion (largest remainders), each at least
// MinPoolConns. It fails when budget is below MinBudget(len(weights)).
func SplitBudget(budget int, weights []int) ([]int32, error) {
	n := len(weights)
	if n == 0 {
		return nil, nil
	}
	if min := MinBudget(n); budget < min {
		return nil, fmt.Errorf("a connection budget of %d is below the %d that %d module(s) need", budget, min, n)
	}
	total := 0
	for i := range weights {
		weights[i] = max(weights[i], 1)
		total += weights[i]
	}
	pools := budget - n*DedicatedConnsPerModule - BootstrapConns
	sizes := make([]int32, n)
	remainders := make([]int, n) // of pools*weight/total, scaled by total
	given := 0
	for i, w := range weights {
		sizes[i] = int32(max(MinPoolConns, pools*w/total))
		remainders[i] = pools * w % total
		given += int(sizes[i])
	}
	// Raising small shares to the minimum may have given too much: take it
	// back from the largest pools; what is left over goes to the largest
	// remainders.
	for ; given > pools; given-- {
		sizes[slices.Index(sizes, slices.Max(sizes))]--
	}
	for ; given < pools; given++ {
		best := 0
		for i := range remainders {
			if remainders[i] > remainders[best] {
				best = i
			}
		}
		sizes[best]++
		remainders[best] = -1
	}
	return sizes, nil
}
