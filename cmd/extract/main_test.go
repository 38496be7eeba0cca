package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/modmono/shop/modules"
)

// extract list --json has SPEC §8's fields, and its facts hold together:
// every consumed event is published by a module, calls and called_by are
// the same relation seen from both ends.
func TestListJSON(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"list", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != len(modules.All) {
		t.Fatalf("%v %s", err, out.String())
	}
	type module struct {
		Name      string   `json:"name"`
		Calls     []string `json:"calls"`
		CalledBy  []string `json:"called_by"`
		Publishes []string `json:"publishes"`
		Consumes  []string `json:"consumes"`
		Schema    string   `json:"schema"`
	}
	byName := map[string]module{}
	published := map[string]bool{}
	for _, raw := range rows {
		for _, field := range []string{"name", "calls", "called_by", "publishes", "consumes", "schema"} {
			if _, ok := raw[field]; !ok {
				t.Errorf("a module lacks %q: %v", field, raw)
			}
		}
		var m module
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &m); err != nil || m.Calls == nil || m.CalledBy == nil || m.Publishes == nil || m.Consumes == nil {
			t.Fatalf("%v: lists must be arrays, never null: %s", err, b)
		}
		byName[m.Name] = m
		for _, e := range m.Publishes {
			published[e] = true
		}
	}
	for _, m := range byName {
		if m.Schema != m.Name {
			t.Errorf("%s: schema %q", m.Name, m.Schema)
		}
		for _, e := range m.Consumes {
			if !published[e] {
				t.Errorf("%s consumes %s, which no module publishes", m.Name, e)
			}
		}
		for _, c := range m.Calls {
			if !slices.Contains(byName[c].CalledBy, m.Name) {
				t.Errorf("%s calls %s, but %s is not called by it: %v", m.Name, c, c, byName[c].CalledBy)
			}
		}
		for _, c := range m.CalledBy {
			if !slices.Contains(byName[c].Calls, m.Name) {
				t.Errorf("%s is called by %s, which does not call it", m.Name, c)
			}
		}
	}
	if o := byName["ordering"]; !slices.Equal(o.Calls, []string{"catalog", "inventory", "payments"}) || !slices.Equal(byName["payments"].CalledBy, []string{"ordering"}) {
		t.Errorf("ordering calls %v; payments is called by %v", o.Calls, byName["payments"].CalledBy)
	}
	out.Reset()
	if err := run([]string{"list"}, &out, &out); err != nil || !strings.Contains(out.String(), "CALLED BY") || !strings.Contains(out.String(), "inventory") {
		t.Fatalf("%v %s", err, out.String())
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"list", "--help"}, {"build", "--help"}, {"build", "-h"}, {"build", "payments", "--help"}} {
		var out bytes.Buffer
		if code := exitCode(run(args, &out, &out), &out); code != 0 || !strings.Contains(out.String(), "Usage: extract") {
			t.Errorf("%v: exit %d\n%s", args, code, out.String())
		}
	}
}

// TestExitCodes holds the command line to SPEC §8: usage mistakes exit 2
// with the usage on stderr, failures exit 1 with one line on stderr.
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "extract: missing command\n\nUsage: extract"},
		{[]string{"teleport"}, 2, "extract: unknown command \"teleport\"\n\nUsage: extract"},
		{[]string{"list", "--fast"}, 2, "extract: list: flag provided but not defined: -fast\n\nUsage: extract list"},
		{[]string{"list", "extra"}, 2, "extract: list: no arguments expected"},
		{[]string{"build"}, 2, "extract: build: missing MODULE\n\nUsage: extract build"},
		{[]string{"build", "shipping"}, 1, "extract: build: unknown module \"shipping\"; the modules are: identity, catalog, inventory, payments, ordering, notifications\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := exitCode(run(tc.args, &stdout, &stderr), &stderr)
		if code != tc.code || !strings.HasPrefix(stderr.String(), tc.stderr) || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and stderr starting %q",
				tc.args, code, stderr.String(), stdout.String(), tc.code, tc.stderr)
		}
	}
	var stderr bytes.Buffer
	if code := exitCode(errors.New("cannot connect:\n  refused"), &stderr); code != 1 || stderr.String() != "extract: cannot connect: refused\n" {
		t.Errorf("a failure: exit %d, stderr %q", code, stderr.String())
	}
}
