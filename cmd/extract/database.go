package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modmono/shop/internal/guide"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/modkit"
)

// connectTimeout bounds reaching a database named on the command line.
const connectTimeout = 10 * time.Second

// connect opens one connection to dsn, as the role it names.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	// pgxpool's parser knows the pool_* parameters a DATABASE_URL may carry
	// for the app, which a plain connection would send to the server.
	poolCfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("the database URL is not valid: %w", err)
	}
	cfg := poolCfg.ConnConfig
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", describe(cfg), err)
	}
	return conn, nil
}

// describe names a database without its credentials.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("database %s on %s:%d", cfg.Database, cfg.Host, cfg.Port)
}

// schemaTables returns the tables of schema with their row counts and
// sizes, the migrations' version tables left out; an error when the
// database has no such schema.
func schemaTables(ctx context.Context, conn *pgx.Conn, schema string) ([]guide.Table, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%s has no schema %s: the module has never run there, or it was retired", describe(conn.Config()), schema)
	}
	rows, err := conn.Query(ctx, `
		SELECT c.relname, pg_total_relation_size(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND c.relname NOT IN ($2, $3)
		ORDER BY c.oid`, schema, modkit.ModuleVersionTable, bus.Migrations().VersionTable)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (guide.Table, error) {
		var t guide.Table
		return t, r.Scan(&t.Name, &t.Bytes)
	})
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		q := fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{schema, t.Name}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&tables[i].Rows); err != nil {
			return nil, fmt.Errorf("count the rows of %s.%s: %w", schema, t.Name, err)
		}
	}
	return tables, nil
}
