package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// target is one figure of the performance targets (issue 11), as the
// summary table at the end of the run shows it.
type target struct {
	figure    string
	value     string
	reference string // what the ratio divides by; "" when the target is absolute
	ratio     string // "" when the target is absolute
	goal      string
	met       bool
}

// summary collects the targets measured in this run, in the order measured.
var summary []target

// recordRatio records a figure stated as a ratio to a reference measured in
// the same run: met when num/ref >= atLeast (or <= atMost when atMost > 0).
func recordRatio(figure, value, reference string, num, ref, atLeast, atMost float64) {
	r := 0.0
	if ref > 0 {
		r = num / ref
	}
	t := target{figure: figure, value: value, reference: reference, ratio: fmt.Sprintf("%.3f", r)}
	switch {
	case atMost > 0:
		t.goal, t.met = fmt.Sprintf("<= %.2f", atMost), ref > 0 && r <= atMost
	default:
		t.goal, t.met = fmt.Sprintf(">= %.2f", atLeast), ref > 0 && r >= atLeast
	}
	summary = append(summary, t)
}

// recordBelow records an absolute duration target: met when d < limit (or
// d <= limit when inclusive).
func recordBelow(figure, value string, d, limit time.Duration, inclusive bool) {
	t := target{figure: figure, value: value, goal: "< " + short(limit), met: d < limit}
	if inclusive {
		t.goal, t.met = "<= "+short(limit), d <= limit
	}
	summary = append(summary, t)
}

// short prints a duration target the way the issue states it.
func short(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%g s", d.Seconds())
	}
	return fmt.Sprintf("%g ms", float64(d)/float64(time.Millisecond))
}

// issueOrder is the order of the issue's targets, by the start of their
// figures' names: the table follows it, whatever order the sections ran in.
var issueOrder = []string{"intake", "checkout", "one order alone", "commit", "payments extracted", "start", "idle RSS"}

func rank(t target) int {
	for i, p := range issueOrder {
		if strings.HasPrefix(t.figure, p) {
			return i
		}
	}
	return len(issueOrder)
}

// printSummary prints the table of the targets measured in this run.
func printSummary() {
	if len(summary) == 0 {
		return
	}
	slices.SortStableFunc(summary, func(a, b target) int { return rank(a) - rank(b) })
	fmt.Println("\nsummary: the targets of issue 11 measured in this run")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tvalue\treference\tratio\ttarget\tmet")
	for _, t := range summary {
		ref, ratio, met := t.reference, t.ratio, "✗"
		if ref == "" {
			ref = "—"
		}
		if ratio == "" {
			ratio = "—"
		}
		if t.met {
			met = "✓"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.figure, t.value, ref, ratio, t.goal, met)
	}
	_ = w.Flush()
}
