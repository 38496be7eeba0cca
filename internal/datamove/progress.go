package datamove

import (
	"fmt"
	"io"
	"time"
)

// Progress shows the copy of each table. Start is called in the copy's
// goroutine and Add from the one that reads the source: an implementation
// must accept calls from several goroutines, one table at a time.
type Progress interface {
	// Start begins a table of rows rows.
	Start(table string, rows int64) TableProgress
}

// TableProgress is the progress of one table's copy.
type TableProgress interface {
	Add(rows int64)                         // rows more were read
	Done(rows int64, elapsed time.Duration) // the table is copied
}

// LineProgress writes one line per copied table to W, with its rows and
// rows per second: the progress of a run whose output is not a terminal.
type LineProgress struct{ W io.Writer }

// Start implements Progress.
func (p LineProgress) Start(table string, _ int64) TableProgress { return lineTable{p.W, table} }

type lineTable struct {
	w     io.Writer
	table string
}

func (lineTable) Add(int64) {}

func (l lineTable) Done(rows int64, elapsed time.Duration) {
	fmt.Fprintf(l.w, "copied %-32s %10d rows in %6.2fs %10.0f rows/s\n", l.table, rows, elapsed.Seconds(), float64(rows)/max(elapsed.Seconds(), 1e-9))
}
