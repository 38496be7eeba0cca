package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// reference measures the physical ceiling the other figures are compared
// with: single-row insert transactions per second against the same Postgres
// at the same concurrency.
func reference(ctx context.Context, dsn string, concurrency int, d time.Duration) (float64, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return 0, err
	}
	cfg.MaxConns = int32(concurrency)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_reference (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL)`); err != nil {
		return 0, err
	}
	var commits atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := pool.Exec(ctx, `INSERT INTO bench_reference (payload) VALUES ($1)`, "x"); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				commits.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(commits.Load()) / time.Since(start).Seconds(), firstErr
}

// references are a section's references: each concurrency's measured once,
// when the section first needs it (before it starts cmd/app), and printed.
// Each section measures its own, right before its load: on a shared
// machine the reference of minutes earlier may belong to another load.
type references struct {
	ctx context.Context
	dsn string
	d   time.Duration
	at  map[int]float64
}

func newReferences(ctx context.Context, dsn string, d time.Duration) *references {
	return &references{ctx: ctx, dsn: dsn, d: d, at: map[int]float64{}}
}

// get returns the reference at clients, measuring it the first time.
func (r *references) get(clients int) (float64, error) {
	if v, ok := r.at[clients]; ok {
		return v, nil
	}
	v, err := reference(r.ctx, r.dsn, clients, r.d)
	if err != nil {
		return 0, fmt.Errorf("reference at %d clients: %w", clients, err)
	}
	r.at[clients] = v
	fmt.Printf("reference: single-row insert transactions        %8.0f commits/s  (%d clients)\n", v, clients)
	return v, nil
}

// label names the reference at clients in the summary.
func (r *references) label(clients int) string {
	return fmt.Sprintf("%.0f commits/s (single-row, %d clients)", r.at[clients], clients)
}
