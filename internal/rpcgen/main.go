// Command rpcgen writes the HTTP client and the tracing decorator of a
// module's API interface: for the package in the current directory (a
// module's <module>api package), it reads `type API interface` from api.go
// and writes client_gen.go with NewClient(*rpc.Client) API, one stub per
// method over rpc.Client.Call, and trace_gen.go with Traced(API) API, one
// span "<module>.<Method>" per call.
//
// A method whose doc comment holds the directive //rpc:idempotent may be
// retried by the client after a failure of the remote; any other is tried
// once. Run it through go generate (see the go:generate line in api.go);
// a test fails when a checked-in file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/modmono/shop/internal/rpcgen/gen"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: rpcgen [dir]\n\nWrites dir/client_gen.go and dir/trace_gen.go (default dir: .) from the API interface in dir/api.go.")
	}
	flag.Parse()
	dir := "."
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	for name, generate := range map[string]func(string) ([]byte, error){gen.FileName: gen.Client, gen.TracedFileName: gen.Traced} {
		if err := write(dir+"/"+name, generate, dir); err != nil {
			fmt.Fprintln(os.Stderr, "rpcgen:", err)
			os.Exit(1)
		}
	}
}

// write writes what generate makes of dir to path, unless path holds it already.
func write(path string, generate func(string) ([]byte, error), dir string) error {
	src, err := generate(dir)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, src) {
		return nil
	}
	return os.WriteFile(path, src, 0o644)
}
