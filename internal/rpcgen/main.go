// Command rpcgen writes the HTTP client of a module's API interface: for the
// package in the current directory (a module's <module>api package), it
// reads `type API interface` from api.go and writes client_gen.go with
// NewClient(*rpc.Client) API, one stub per method over rpc.Client.Call.
//
// A method whose doc comment holds the directive //rpc:idempotent may be
// retried by the client after a failure of the remote; any other is tried
// once. Run it through go generate (see the go:generate line in api.go);
// a test fails when a checked-in client_gen.go is stale.
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
		fmt.Fprintln(os.Stderr, "Usage: rpcgen [dir]\n\nWrites dir/client_gen.go (default dir: .) from the API interface in dir/api.go.")
	}
	flag.Parse()
	dir := "."
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	src, err := gen.Client(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpcgen:", err)
		os.Exit(1)
	}
	path := dir + "/" + gen.FileName
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, src) {
		return
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "rpcgen:", err)
		os.Exit(1)
	}
}
