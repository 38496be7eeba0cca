package datamove

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The states of a move's record.
const (
	stateCopied      = "copied"      // target: an offline copy committed, not verified yet
	stateReplicating = "replicating" // target: an online move's subscription is set up
	stateVerified    = "verified"    // both: the move is verified
	stateRetired     = "retired"     // source: the old schema is dropped
)

// recordDDL creates the tool's own schema; PUBLIC (so every module role)
// cannot see into it.
const recordDDL = `
CREATE SCHEMA IF NOT EXISTS shop_extract;
REVOKE ALL ON SCHEMA shop_extract FROM PUBLIC;
CREATE TABLE IF NOT EXISTS shop_extract.moves (
    module       text        NOT NULL,
    source       text        NOT NULL, -- system identifier/database of the source
    target       text        NOT NULL, -- same, of the target
    source_where text        NOT NULL, -- host:port/database, no credentials
    target_where text        NOT NULL,
    method       text        NOT NULL CHECK (method IN ('offline', 'online')),
    state        text        NOT NULL CHECK (state IN ('copied', 'replicating', 'verified', 'retired')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    verified_at  timestamptz,
    downtime     interval,             -- online: last session of the role gone -> verified
    retired_at   timestamptz,
    tables       jsonb,                -- [{"table","rows","checksum"}] as verified
    PRIMARY KEY (module, source, target)
)`

// record is a row of shop_extract.moves.
type record struct {
	Module, Source, Target   string
	SourceWhere, TargetWhere string
	Method, State            string
	StartedAt                time.Time
	VerifiedAt, RetiredAt    *time.Time
	Downtime                 *time.Duration
	Tables                   []TableCheck
}

// hasRecords reports whether d has the tool's table.
func hasRecords(ctx context.Context, q querier) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT to_regclass('shop_extract.moves') IS NOT NULL`).Scan(&ok)
	return ok, err
}

// findRecord returns the record of module's move from source to target on q,
// or nil. An empty target matches any target.
func findRecord(ctx context.Context, q querier, module, source, target string) (*record, error) {
	ok, err := hasRecords(ctx, q)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := q.Query(ctx, `
		SELECT module, source, target, source_where, target_where, method, state, started_at, verified_at,
		       retired_at, extract(epoch FROM downtime)::float8, coalesce(tables, '[]')
		FROM shop_extract.moves
		WHERE module = $1 AND source = $2 AND ($3 = '' OR target = $3)
		ORDER BY started_at DESC LIMIT 1`, module, source, target)
	if err != nil {
		return nil, fmt.Errorf("read shop_extract.moves: %w", err)
	}
	r, err := pgx.CollectOneRow(rows, func(row pgx.CollectableRow) (record, error) {
		var r record
		var downtime *float64
		err := row.Scan(&r.Module, &r.Source, &r.Target, &r.SourceWhere, &r.TargetWhere, &r.Method, &r.State,
			&r.StartedAt, &r.VerifiedAt, &r.RetiredAt, &downtime, &r.Tables)
		if downtime != nil {
			d := time.Duration(*downtime * float64(time.Second))
			r.Downtime = &d
		}
		return r, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read shop_extract.moves: %w", err)
	}
	return &r, nil
}

// writeRecord inserts or updates r on q, creating the tool's schema first.
func writeRecord(ctx context.Context, q pgx.Tx, r record) error {
	if _, err := q.Exec(ctx, recordDDL); err != nil {
		return fmt.Errorf("create shop_extract.moves: %w", err)
	}
	var downtime *string
	if r.Downtime != nil {
		s := fmt.Sprintf("%d microseconds", r.Downtime.Microseconds())
		downtime = &s
	}
	tables := r.Tables
	if tables == nil {
		tables = []TableCheck{}
	}
	_, err := q.Exec(ctx, `
		INSERT INTO shop_extract.moves AS m (module, source, target, source_where, target_where, method, state,
		                                     verified_at, downtime, retired_at, tables)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::interval, $10, $11)
		ON CONFLICT (module, source, target) DO UPDATE SET
		    source_where = excluded.source_where, target_where = excluded.target_where,
		    method = excluded.method, state = excluded.state,
		    started_at = CASE WHEN excluded.state IN ('copied', 'replicating') THEN now() ELSE m.started_at END,
		    verified_at = excluded.verified_at, downtime = excluded.downtime,
		    retired_at = excluded.retired_at, tables = excluded.tables`,
		r.Module, r.Source, r.Target, r.SourceWhere, r.TargetWhere, r.Method, r.State,
		r.VerifiedAt, downtime, r.RetiredAt, tables)
	if err != nil {
		return fmt.Errorf("record the move in shop_extract.moves: %w", err)
	}
	return nil
}

func deleteRecord(ctx context.Context, q querier, module, source, target string) error {
	ok, err := hasRecords(ctx, q)
	if err != nil || !ok {
		return err
	}
	rows, err := q.Query(ctx, `DELETE FROM shop_extract.moves WHERE module = $1 AND source = $2 AND target = $3`, module, source, target)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
