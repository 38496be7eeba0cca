package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modmono/shop/internal/process"
	"github.com/modmono/shop/modules"
)

func run(args []string, out *bytes.Buffer) error { return process.Run("app", modules.All, args, out) }

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out bytes.Buffer
		if err := run(args, &out); err != nil || !strings.Contains(out.String(), "Usage: app [command]") ||
			!strings.Contains(out.String(), "rebuild-read-models") {
			t.Errorf("%v: %v\n%s", args, err, out.String())
		}
	}
}

func TestRejectsUnknownCommandsAndBadConfig(t *testing.T) {
	if err := run([]string{"fly"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	t.Setenv("APP_BUS", "pigeon")
	if err := run(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "APP_BUS") {
		t.Errorf("bad APP_BUS: %v", err)
	}
}
