package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modmono/shop/modules"
)

func TestList(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"list", "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name     string   `json:"name"`
		Consumes []string `json:"consumes"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != len(modules.All) {
		t.Fatalf("%v %s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"list"}, &out, &out); err != nil || !strings.Contains(out.String(), "inventory") {
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
		{[]string{"build", "shipping"}, 2, "extract: build: unknown module \"shipping\"; the modules are: identity, catalog"},
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
