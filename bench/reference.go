package main

import (
	"context"
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
