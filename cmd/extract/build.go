package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/modmono/shop/modules"
)

// modulePath is the Go module whose cmd/app extract build compiles.
const modulePath = "github.com/modmono/shop"

const buildUsage = `Usage: extract build MODULE [-o PATH] [-race]

Builds MODULE's own binary: cmd/app compiled with the build tags
extract,extract_MODULE, so that it links only that module (its package
modules/MODULE, its internals and its migrations), the platform, and the
other modules' surface packages (modules/<x>/<x>api) through which it
reaches them over HTTP. Every other module's code stays out of the binary.

The binary takes the same environment variables as the monolith (see
docs/configuration.md): APP_MODULES=all there means MODULE, and every other module is
reached at APP_REMOTE_<MODULE>. Its --help lists the modules it contains.

It runs, from the repository root (the folder of go.mod above the working
directory):
  go build -tags extract,extract_MODULE -o PATH ./cmd/app
so GOOS, GOARCH, CGO_ENABLED and the other go variables apply as usual.

Modules: %s
`

// buildPlan is one run of go build: where, with which arguments, and the
// binary it writes.
type buildPlan struct {
	module string
	root   string   // the repository root, where go build runs
	output string   // absolute path of the binary
	args   []string // go's arguments, after "go"
}

func build(args []string, stdout, stderr io.Writer) error {
	f := newFlags("build", fmt.Sprintf(buildUsage, strings.Join(modules.Names(), ", ")), stdout)
	output := f.String("o", "", "write the binary to `PATH` (default ./MODULE); an existing folder gets PATH/MODULE")
	race := f.Bool("race", false, "build with the race detector (go build -race)")
	module, err := f.parseModule(args)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	p, err := planBuild(wd, module, *output, *race)
	if err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("cannot find the go command: extract build compiles the binary with the Go toolchain, which must be on PATH (%w)", err)
	}
	fmt.Fprintf(stderr, "building %s in %s: go %s\n", p.module, p.root, strings.Join(p.args, " "))
	cmd := exec.Command(goTool, p.args...)
	cmd.Dir = p.root
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build of module %s failed: %w", p.module, err)
	}
	fmt.Fprintf(stdout, "built %s: module %s and the platform; the other modules are reached at APP_REMOTE_<MODULE>\n"+
		"it takes the monolith's environment variables; see %s --help\n", p.output, p.module, p.output)
	return nil
}

// planBuild validates the module and works out the go build run from wd,
// the working directory, without running it.
func planBuild(wd, module, output string, race bool) (buildPlan, error) {
	if !slices.Contains(modules.Names(), module) {
		return buildPlan{}, fmt.Errorf("build: unknown module %q; the modules are: %s", module, strings.Join(modules.Names(), ", "))
	}
	root, err := findRoot(wd)
	if err != nil {
		return buildPlan{}, err
	}
	if output == "" {
		output = module
		if goos() == "windows" {
			output += ".exe"
		}
	}
	if !filepath.IsAbs(output) {
		output = filepath.Join(wd, output)
	}
	if st, err := os.Stat(output); err == nil && st.IsDir() {
		output = filepath.Join(output, module)
	}
	args := []string{"build", "-tags", "extract,extract_" + module}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "-o", output, "./cmd/app")
	return buildPlan{module: module, root: root, output: output, args: args}, nil
}

// findRoot returns the repository root: the nearest folder at or above dir
// holding the go.mod of github.com/modmono/shop.
func findRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		path, err := goModPath(filepath.Join(d, "go.mod"))
		switch {
		case err == nil && path == modulePath:
			return d, nil
		case err == nil:
			return "", fmt.Errorf("%s declares module %s, not %s: run extract inside the shop's repository",
				filepath.Join(d, "go.mod"), path, modulePath)
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or any folder above it: run extract inside the shop's repository (module %s)", dir, modulePath)
		}
		d = parent
	}
}

// goModPath returns the module path that the go.mod file declares.
func goModPath(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`"), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s has no module line", file)
}

// goos is the operating system go build targets.
func goos() string {
	if v := os.Getenv("GOOS"); v != "" {
		return v
	}
	return runtime.GOOS
}
