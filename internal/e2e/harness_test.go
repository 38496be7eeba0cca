package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modmono/shop/internal/browsertest"
	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/amqptest"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/freeport"
	"github.com/modmono/shop/platform/pgtest"
)

var (
	appBinary string
	// extracted holds each module's own binary (extract build), by module.
	extracted = map[string]string{}
	// binDir holds the binaries built for the tests; TestMain removes it.
	binDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	appBinary = filepath.Join(dir, "app")
	if err := goBuild(appBinary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build cmd/app:", err)
		os.Exit(1)
	}
	for _, m := range surfaces.Names() {
		extracted[m] = filepath.Join(dir, m)
		if err := goBuild(extracted[m], "extract", "extract_"+m); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build the %s binary: %v\n", m, err)
			os.Exit(1)
		}
	}
	code := browsertest.Main(m) // m.Run, then the console tests' browser ends
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild builds cmd/app with the race detector and the build tags given:
// with tags extract,extract_<module> it is that module's own binary, as
// `extract build <module>` makes it.
func goBuild(out string, tags ...string) error {
	build := exec.Command("go", "build", "-race", "-tags", strings.Join(tags, ","), "-o", out, "github.com/modmono/shop/cmd/app")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	return build.Run()
}

// process is one running cmd/app.
type process struct {
	t    testing.TB
	cmd  *exec.Cmd
	base string
	// internal is the base URL of its internal listener (APP_INTERNAL_ADDR), if any.
	internal string
	bearer   string // sent as Authorization when set
	logs     *syncBuffer
	done     chan error
}

// deployment is the environment one test's processes share.
type deployment struct {
	env     map[string]string
	key     authtest.Key // identity's signing key (APP_JWT_PRIVATE_KEY)
	servers servers
}

// newDeployment prepares a fresh database and, for the amqp bus, a virtual host.
func newDeployment(t testing.TB, bus string) deployment {
	return newDeploymentOn(t, bus, servers{})
}

// servers are the Postgres and RabbitMQ a deployment uses; empty, the
// shared ones.
type servers struct {
	postgres string // URL of the maintenance database; see pgtest.NewDatabaseOn
	amqp     string // broker URL, used as is (no virtual host of its own)
}

// newDatabase creates a fresh database on the deployment's Postgres.
func (s servers) newDatabase(t testing.TB) string {
	if s.postgres == "" {
		return pgtest.NewDatabase(t)
	}
	return pgtest.NewDatabaseOn(t, s.postgres)
}

// newDeploymentOn is newDeployment on the given servers.
func newDeploymentOn(t testing.TB, bus string, srv servers) deployment {
	env := map[string]string{
		"DATABASE_URL":        smallPools(srv.newDatabase(t)),
		"APP_BUS":             bus,
		"APP_LOG_FORMAT":      "json",
		"APP_SEED_DEMO":       "false",
		"APP_DATA_DIR":        t.TempDir(),
		"APP_JWT_SECRET":      "e2e-" + strings.Repeat("s", 40),
		"APP_ADMIN_PASSWORD":  adminPassword,
		"APP_PAYMENT_TIMEOUT": "1s",
		// Many customers log in from 127.0.0.1 in one deployment.
		"APP_RATE_LIMIT_LOGIN":    "100000",
		"APP_RATE_LIMIT_REGISTER": "100000",
	}
	switch {
	case bus == "amqp" && srv.amqp != "":
		env["AMQP_URL"] = srv.amqp
	case bus == "amqp":
		env["AMQP_URL"] = amqptest.NewVHost(t)
	}
	key := authtest.NewKey(t)
	env["APP_JWT_PRIVATE_KEY"] = key.PEM
	return deployment{env: env, key: key, servers: srv}
}

// token mints an access token for a caller with role, signed with
// identity's key as the identity module would.
func (d deployment) token(t testing.TB, role auth.Role) string {
	t.Helper()
	return d.key.Token(t, role)
}

// start runs cmd/app with the deployment's environment plus extra, and waits
// until it is ready.
func (d deployment) start(t testing.TB, extra map[string]string) *process {
	t.Helper()
	p := d.launch(t, appBinary, freeAddr(t), extra)
	p.waitReady(t)
	return p
}

// launch runs binary at addr with the deployment's environment plus extra
// (an empty value unsets a variable), without waiting for it.
func (d deployment) launch(t testing.TB, binary, addr string, extra map[string]string) *process {
	t.Helper()
	return d.launchIn(t, "", binary, addr, extra)
}

// launchIn is launch inside the network namespace netns ("": the test's
// own); `ip netns exec` execs binary, so the process is binary itself.
func (d deployment) launchIn(t testing.TB, netns, binary, addr string, extra map[string]string) *process {
	t.Helper()
	env := append(os.Environ(), "APP_HTTP_ADDR="+addr)
	for k, v := range d.env {
		if _, over := extra[k]; !over {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range extra {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	cmd := exec.Command(binary)
	if netns != "" {
		cmd = exec.Command("ip", "netns", "exec", netns, binary)
	}
	p := &process{t: t, cmd: cmd, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(binary), p.logs.String())
		}
	})
	return p
}

// waitReady waits until p answers /health/ready with 200.
func (p *process) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("cmd/app exited during start-up: %v\n%s", err, p.logs.String())
		default:
		}
		if resp, err := http.Get(p.base + "/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cmd/app not ready after 90 s\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// as returns a client of p that authenticates with token.
func (p *process) as(token string) *process {
	c := *p
	c.bearer = token
	return &c
}

// signal sends sig and waits for the process to exit, returning its error.
func (p *process) signal(sig syscall.Signal) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(60 * time.Second):
		p.t.Fatalf("cmd/app did not exit after %v", sig)
		return nil
	}
}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body, when a string, is sent as is with
// Content-Type application/json unless headers say otherwise.
func (p *process) do(method, path string, body any, headers ...string) response {
	p.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// eventually polls cond until it holds; it waits for an outcome, never
// judges speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// smallPools caps each module's pool of the database at dsn: the tests run
// many processes against one Postgres at once, and its connection slots are
// few (100 by default); idle connections are given back soon.
func smallPools(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "pool_max_conns=4&pool_max_conn_idle_time=5s"
}

// freeAddr is a loopback address for a process the test is about to start.
func freeAddr(t testing.TB) string { return freeport.Addr(t) }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
