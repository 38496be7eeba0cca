package datamove

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// table is one table of a module's schema that moves.
type table struct {
	Schema, Name string
	Columns      []string // in attribute order, generated columns left out
	Types        []string // each column's type, as format_type names it
	PrimaryKey   []string
}

func (t table) String() string    { return t.Schema + "." + t.Name }
func (t table) qualified() string { return qualified(t.Schema, t.Name) }

func (t table) columnList() string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = ident(c)
	}
	return strings.Join(cols, ", ")
}

// tables lists the tables of schema except the version tables, in an order
// where a table comes after the tables its foreign keys reference (and by
// name otherwise), so COPY into them in that order satisfies the keys.
func tables(ctx context.Context, q querier, schema string, skip []string) ([]table, error) {
	rows, err := q.Query(ctx, `
		SELECT c.relname,
		       array(SELECT a.attname::text FROM pg_attribute a
		             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		             ORDER BY a.attnum),
		       array(SELECT format_type(a.atttypid, NULL) FROM pg_attribute a
		             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		             ORDER BY a.attnum),
		       coalesce((SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
		                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT (c.relname = ANY ($2))
		ORDER BY c.relname`, schema, skip)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		t := table{Schema: schema}
		err := r.Scan(&t.Name, &t.Columns, &t.Types, &t.PrimaryKey)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", schema, err)
	}
	rows, err = q.Query(ctx, `
		SELECT DISTINCT c.relname, r.relname
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = $1 AND r.relnamespace = c.relnamespace AND c.oid <> r.oid`, schema)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys of %s: %w", schema, err)
	}
	refs := map[string][]string{}
	var from, to string
	if _, err := pgx.ForEachRow(rows, []any{&from, &to}, func() error {
		refs[from] = append(refs[from], to)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list foreign keys of %s: %w", schema, err)
	}
	return dependencyOrder(ts, refs), nil
}

// dependencyOrder sorts ts (sorted by name) so that every table comes after
// the ones it references; a cycle keeps the name order for its members.
func dependencyOrder(ts []table, refs map[string][]string) []table {
	done := map[string]bool{}
	visiting := map[string]bool{}
	byName := map[string]table{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	var out []table
	var visit func(name string)
	visit = func(name string) {
		t, ok := byName[name]
		if !ok || done[name] || visiting[name] {
			return
		}
		visiting[name] = true
		deps := slices.Clone(refs[name])
		slices.Sort(deps)
		for _, d := range deps {
			visit(d)
		}
		visiting[name] = false
		done[name] = true
		out = append(out, t)
	}
	for _, t := range ts {
		visit(t.Name)
	}
	return out
}

// sequences lists the sequences of schema, identity sequences included.
func sequences(ctx context.Context, q querier, schema string) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname`, schema)
	if err != nil {
		return nil, fmt.Errorf("list sequences of %s: %w", schema, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// sequenceState is where a sequence stands.
type sequenceState struct {
	Name      string
	LastValue int64
	IsCalled  bool
}

func readSequences(ctx context.Context, q querier, schema string) ([]sequenceState, error) {
	names, err := sequences(ctx, q, schema)
	if err != nil {
		return nil, err
	}
	states := make([]sequenceState, len(names))
	for i, n := range names {
		states[i].Name = n
		if err := q.QueryRow(ctx, `SELECT last_value, is_called FROM `+qualified(schema, n)).
			Scan(&states[i].LastValue, &states[i].IsCalled); err != nil {
			return nil, fmt.Errorf("read sequence %s.%s: %w", schema, n, err)
		}
	}
	return states, nil
}

func writeSequences(ctx context.Context, q querier, schema string, states []sequenceState) error {
	for _, s := range states {
		var v int64
		if err := q.QueryRow(ctx, `SELECT setval($1::regclass, $2, $3)`, qualified(schema, s.Name), s.LastValue, s.IsCalled).Scan(&v); err != nil {
			return fmt.Errorf("set sequence %s.%s: %w", schema, s.Name, err)
		}
	}
	return nil
}

// TableCheck is a table's row count and checksum on one side.
type TableCheck struct {
	Table    string `json:"table"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// hashable are the column types whose values Postgres hashes as they are
// (hash_record_extended); any other column is hashed through its text.
// Hashing the values skips rendering every row as text, which was most of
// the verification's cost (and so of a cut-over's downtime).
var hashable = []string{"uuid", "text", "character varying", "character", "smallint", "integer", "bigint",
	"boolean", "jsonb", "timestamp with time zone", "timestamp without time zone", "date", "bytea", "numeric"}

// checksum computes t's TableCheck on q; see the package documentation.
func checksum(ctx context.Context, q querier, t table) (TableCheck, error) {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = ident(c)
		if !slices.Contains(hashable, t.Types[i]) {
			cols[i] += "::text"
		}
	}
	slices.Sort(cols)
	c := TableCheck{Table: t.String()}
	err := q.QueryRow(ctx, `
		SELECT count(*), coalesce(sum(hash_record_extended(ROW(`+strings.Join(cols, ", ")+`), 0)::numeric), 0)::text
		FROM `+t.qualified()).Scan(&c.Rows, &c.Checksum)
	if err != nil {
		return c, fmt.Errorf("checksum of %s: %w", t, err)
	}
	return c, nil
}

func checksums(ctx context.Context, q querier, ts []table) ([]TableCheck, error) {
	out := make([]TableCheck, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = checksum(ctx, q, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compare returns a description of the first differences between source
// and target, or "" when every table is equal.
func compare(src, dst []TableCheck) string {
	var diffs []string
	for i := range src {
		if i >= len(dst) || src[i] != dst[i] {
			var d TableCheck
			if i < len(dst) {
				d = dst[i]
			}
			diffs = append(diffs, fmt.Sprintf("%s: source %d rows (checksum %.8s), target %d rows (checksum %.8s)",
				src[i].Table, src[i].Rows, src[i].Checksum, d.Rows, d.Checksum))
		}
	}
	return strings.Join(diffs, "; ")
}

// nonEmpty lists the tables of ts that hold rows on q.
func nonEmpty(ctx context.Context, q querier, ts []table) ([]string, error) {
	var out []string
	for _, t := range ts {
		var has bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.qualified()+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("look into %s: %w", t, err)
		}
		if has {
			out = append(out, t.String())
		}
	}
	return out, nil
}

// emptyTables removes every row of ts in tx, user triggers (an append-only
// guard, say) disabled for the moment.
func emptyTables(ctx context.Context, tx pgx.Tx, ts []table) error {
	if len(ts) == 0 {
		return nil
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.qualified()
	}
	var stmts []string
	for _, n := range names {
		stmts = append(stmts, "ALTER TABLE "+n+" DISABLE TRIGGER USER")
	}
	stmts = append(stmts, "TRUNCATE "+strings.Join(names, ", "))
	for _, n := range names {
		stmts = append(stmts, "ALTER TABLE "+n+" ENABLE TRIGGER USER")
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("empty the target tables: %s: %w", s, err)
		}
	}
	return nil
}
