package contracts_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/bus"
	"github.com/modmono/shop/platform/contract"
)

var update = flag.Bool("update", false, "write the schemas of new events, compatible schema changes and docs/events.md")

const (
	modulePath = "github.com/modmono/shop"
	root       = "../.." // the repository, seen from this package's directory
	updateHint = "run go test ./internal/contracts -update"
)

// event is one published event type and version with its generated schema.
type event struct {
	module string    // the producer
	value  bus.Event // a zero value of its Go type
	schema *contract.Schema
	file   string // its schema file, relative to the repository root
}

// events lists the events of every module in modules.All, in module order.
func events(t *testing.T) []event {
	t.Helper()
	var all []event
	for _, m := range modules.All {
		for _, e := range m.Events {
			pkg := strings.TrimPrefix(reflect.TypeOf(e).PkgPath(), modulePath+"/")
			if want := path.Join("modules", m.Name, m.Name+"api"); pkg != want {
				t.Fatalf("%s registers %T from %s: a module registers the events of its own %s package", m.Name, e, pkg, want)
			}
			s, err := contract.Generate(e)
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			all = append(all, event{
				module: m.Name,
				value:  e,
				schema: s,
				file:   path.Join(pkg, "schemas", contract.ID(e)+".json"),
			})
		}
	}
	return all
}

// Every module's event versions are its own: each type is named after the
// module, versions start at 1, and each version is registered once.
func TestEventsBelongToTheirModule(t *testing.T) {
	t.Parallel()
	owner := map[string]string{} // "<type>.v<version>" → module
	for _, m := range modules.All {
		for _, e := range m.Events {
			id := contract.ID(e)
			switch {
			case e.EventVersion() < 1:
				t.Errorf("%s: %T has version %d; versions start at 1", m.Name, e, e.EventVersion())
			case !strings.HasPrefix(e.EventType(), m.Name+"."):
				t.Errorf("%s: %T has type %q; a module's event types start with %q", m.Name, e, e.EventType(), m.Name+".")
			case owner[id] != "":
				t.Errorf("%s: %s is registered twice (also by %s)", m.Name, id, owner[id])
			}
			owner[id] = m.Name
		}
	}
}

// Every published event version has a checked-in schema that its Go type
// still satisfies, and every checked-in schema belongs to a published event.
func TestEventSchemasAreCompatible(t *testing.T) {
	published := events(t)
	known := map[string]bool{}
	for _, e := range published {
		known[e.file] = true
		t.Run(contract.ID(e.value), func(t *testing.T) { checkSchema(t, e) })
	}

	// Only the modules in modules.All: a module not wired in yet may
	// already have its schemas checked in.
	for _, m := range modules.All {
		files, err := filepath.Glob(filepath.Join(root, "modules", m.Name, m.Name+"api", "schemas", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			rel := path.Join("modules", m.Name, m.Name+"api", "schemas", filepath.Base(f))
			if !known[rel] {
				t.Errorf("%s: no module publishes this event version any more, but published versions are never deleted: "+
					"register its type in the module's Surface.Events again; delete the file by hand only once no "+
					"consumer, outbox or dead letter can still hold it", rel)
			}
		}
	}
}

func checkSchema(t *testing.T, e event) {
	want, err := contract.Marshal(e.schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(e.file)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if *update {
			write(t, e.file, want)
			return
		}
		t.Fatalf("new event %s v%d (%T) has no schema at %s: %s", e.value.EventType(), e.value.EventVersion(), e.value, e.file, updateHint)
	case err != nil:
		t.Fatal(err)
	case bytes.Equal(got, want):
		return
	}

	old, err := contract.Parse(got)
	if err != nil {
		t.Fatalf("%s: %v: restore it from git", e.file, err)
	}
	if problems := contract.Compare(old, e.schema); len(problems) > 0 {
		var msg strings.Builder
		fmt.Fprintf(&msg, "%T changes the published schema of %s v%d (%s) incompatibly:\n",
			e.value, e.value.EventType(), e.value.EventVersion(), e.file)
		for _, p := range problems {
			fmt.Fprintf(&msg, "  - %s\n", p)
		}
		fmt.Fprintf(&msg, "published versions never change: add a V%d type with its own schema and an upcaster in the consumers, "+
			"and keep %T as it was", e.value.EventVersion()+1, e.value)
		if *update {
			msg.WriteString(" (-update does not rewrite a published version)")
		}
		t.Fatal(msg.String())
	}
	if *update {
		write(t, e.file, want)
		return
	}
	t.Fatalf("%s is out of date; the change to %T is compatible (optional properties only): %s and commit the file",
		e.file, e.value, updateHint)
}

// write writes a generated file, named relative to the repository root,
// and logs it.
func write(t *testing.T, name string, data []byte) {
	t.Helper()
	file := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", name)
}
