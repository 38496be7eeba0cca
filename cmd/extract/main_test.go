package main

import (
	"bytes"
	"encoding/json"
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
	for _, args := range [][]string{{"--help"}, {"help"}, {}, {"list", "--help"}, {"build", "--help"}, {"build", "-h"}, {"build", "payments", "--help"}} {
		var out bytes.Buffer
		if err := run(args, &out, &out); err != nil || !strings.Contains(out.String(), "Usage: extract") {
			t.Errorf("%v: %v\n%s", args, err, out.String())
		}
	}
	if err := run([]string{"teleport"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("unknown command accepted")
	}
}
