package doccheck_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/mdblock"
	"github.com/modmono/shop/platform/host"
)

// demoBase is where docs/demo.md expects the shop, as make run serves it.
const demoBase = "http://127.0.0.1:8080"

// TestDemoWalkthrough runs every shell block of docs/demo.md, in order, as
// a person pasting them into one terminal would, against a fresh shop with
// its demo data (the whole application in process, served on a loopback
// port that replaces demoBase). Each block must succeed, and what it prints
// must match the text block that follows it: every line shown, in any
// order, with UUIDs and long numbers standing for any other, and "…" for
// anything. A block that only reads is tried again for a few seconds, as
// what events update (read model, notifications) may lag by milliseconds.
func TestDemoWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("docs/demo.md needs %s: install it (make services does)", tool)
		}
	}
	doc := readFile(t, filepath.Join(repoRoot(t), "docs", "demo.md"))
	blocks := mdblock.Blocks(doc)
	if !strings.Contains(doc, demoBase) {
		t.Fatalf("docs/demo.md no longer uses %s; update this test", demoBase)
	}

	var h *host.HTTP
	apptest.Start(t, map[string]string{"APP_SEED_DEMO": "true"}, &h)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)

	state := filepath.Join(t.TempDir(), "state.sh")
	vars := assignedVars(blocks)
	ran := 0
	for i, b := range blocks {
		if b.Info != "sh" {
			continue
		}
		var want string
		if i+1 < len(blocks) && blocks[i+1].Info == "text" {
			want = blocks[i+1].Body
		}
		body := strings.ReplaceAll(b.Body, demoBase, srv.URL)
		script := fmt.Sprintf("set -euo pipefail\n[ -f %[1]s ] && source %[1]s\n%[2]s\nfor v in %[3]s; do declare -p $v 2>/dev/null || true; done > %[1]s.next\nmv %[1]s.next %[1]s\n",
			state, body, strings.Join(vars, " "))
		readOnly := !strings.Contains(b.Body, "-X POST") && !strings.Contains(b.Body, "-X PUT")
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := runBash(t, script)
			if err != nil {
				t.Fatalf("docs/demo.md:%d: the block failed: %v\n--- block:\n%s\n--- output:\n%s", b.Line, err, b.Body, out)
			}
			missing := unmatched(want, out)
			if len(missing) == 0 {
				break
			}
			if !readOnly || time.Now().After(deadline) {
				t.Fatalf("docs/demo.md:%d: the output lacks the lines\n%s\n--- block:\n%s\n--- output:\n%s",
					b.Line, strings.Join(missing, "\n"), b.Body, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		ran++
	}
	if ran < 10 {
		t.Fatalf("docs/demo.md has %d shell blocks; has it moved?", ran)
	}
}

func runBash(t *testing.T, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// assignedVars returns the shell variables the sh blocks assign at the
// start of a line (NAME=...), which later blocks may use.
func assignedVars(blocks []mdblock.Block) []string {
	re := regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)=`)
	var names []string
	for _, b := range blocks {
		if b.Info != "sh" {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(b.Body, -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	return names
}

var (
	uuidRe   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	numberRe = regexp.MustCompile(`\d{9,}`)
)

// normalize makes the values that differ on every run alike.
func normalize(s string) string {
	s = strings.TrimRight(s, " \r\n")
	s = uuidRe.ReplaceAllString(s, "<uuid>")
	return numberRe.ReplaceAllString(s, "<n>")
}

// unmatched returns the lines of want that match no line of got; each line
// of got matches at most one line of want. "…" in want matches anything.
func unmatched(want, got string) []string {
	var lines []string
	for l := range strings.Lines(got) {
		lines = append(lines, normalize(l))
	}
	used := make([]bool, len(lines))
	var missing []string
	for w := range strings.Lines(want) {
		w = normalize(w)
		if strings.TrimSpace(w) == "" {
			continue
		}
		parts := strings.Split(w, "…")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		found := false
		for i, l := range lines {
			if !used[i] && re.MatchString(l) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}
