// Command extract moves a module out of the monolith (strangler fig), one
// verified step at a time: list the modules, check one's readiness, print
// its migration guide, build its own binary, move its data to its own
// database, retire the old schema, and write its deployment files.
//
// Exit codes (SPEC §8): 0 done (and --help), 1 the command failed (one line
// on stderr says why), 2 the command line is wrong (the usage on stderr).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/modmono/shop/modules"
	"github.com/modmono/shop/platform/modkit"
)

// command is one word of the extract command line.
type command struct {
	name    string
	summary string // one line for extract --help
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands lists every command in the order extract --help shows them,
// which is the order of the migration guide's steps.
func commands() []command {
	return []command{
		{"list", "list the modules: the APIs each calls and is called by, the events it publishes and consumes, its schema", list},
		{"check", "check a module's extraction readiness, one line per check", check},
		{"plan", "print a module's migration guide filled with its facts", plan},
		{"build", "build a module's own binary, linking only that module and the platform", build},
		{"data", "move a module's schema to its own database, offline or online (--online, then --cutover), verified", data},
		{"retire", "drop a module's old schema once a verified move of it is recorded", retire},
		{"deploy", "write a module's kustomize overlay and compose file, to deploy it on its own", deployCmd},
	}
}

func usage() string {
	var b strings.Builder
	b.WriteString("Usage: extract <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-7s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'extract <command> --help' for a command's flags.\n")
	return b.String()
}

func main() { os.Exit(exitCode(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr)) }

// run executes the command line args. Results go to stdout; progress and
// the go command's diagnostics, streamed as they come, go to stderr.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{msg: "missing command", usage: usage()}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage())
		return nil
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.name == args[0] })
	if i < 0 {
		return usageError{msg: fmt.Sprintf("unknown command %q", args[0]), usage: usage()}
	}
	err := commands()[i].run(args[1:], stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// exitCode reports err on stderr and returns the exit code for it.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "extract: %s\n\n%s", ue.msg, ue.usage)
		return 2
	}
	// One line: a wrapped error from a library may span several.
	fmt.Fprintln(stderr, "extract:", strings.Join(strings.Fields(err.Error()), " "))
	return 1
}

// usageError is a mistake on the command line: exit code 2, with the usage.
type usageError struct{ msg, usage string }

func (e usageError) Error() string { return e.msg }

// flags is the flag set of one command, with its usage text. Its parse
// turns every mistake into a usageError and --help into flag.ErrHelp after
// printing the usage on stdout.
type flags struct {
	*flag.FlagSet
	usage  string // printed before the flags' defaults
	stdout io.Writer
}

func newFlags(name, usage string, stdout io.Writer) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage, stdout: stdout}
	f.SetOutput(io.Discard)
	return f
}

// fullUsage is the command's usage followed by its flags.
func (f *flags) fullUsage() string {
	var b strings.Builder
	b.WriteString(f.usage)
	has := false
	f.VisitAll(func(*flag.Flag) { has = true })
	if has {
		b.WriteString("\nFlags:\n")
		f.SetOutput(&b)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
	return b.String()
}

func (f *flags) fail(format string, a ...any) error {
	return usageError{msg: f.Name() + ": " + fmt.Sprintf(format, a...), usage: f.fullUsage()}
}

// parse parses args, flags before or after the positional arguments, and
// returns the positional arguments.
func (f *flags) parse(args []string) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(f.stdout, f.fullUsage())
				return nil, flag.ErrHelp
			}
			return nil, f.fail("%v", err)
		}
		if f.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, f.Arg(0))
		args = f.Args()[1:]
	}
}

// parseModule parses args that name exactly one module, a linked one.
func (f *flags) parseModule(args []string) (string, error) {
	pos, err := f.parse(args)
	switch {
	case err != nil:
		return "", err
	case len(pos) == 0:
		return "", f.fail("missing MODULE")
	case len(pos) > 1:
		return "", f.fail("one MODULE only, got also %q", strings.Join(pos[1:], " "))
	}
	if !slices.Contains(modules.Names(), pos[0]) {
		// Not a usage mistake (SPEC §8 keeps exit 2 for unknown commands
		// and flags): a failure, one line naming the modules.
		return "", fmt.Errorf("%s: unknown module %q; the modules are: %s", f.Name(), pos[0], strings.Join(modules.Names(), ", "))
	}
	return pos[0], nil
}

// definition returns the linked module name, which parseModule checked.
func definition(name string) modkit.Definition {
	i := slices.IndexFunc(modules.All, func(d modkit.Definition) bool { return d.Name == name })
	return modules.All[i]
}
