package main

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
	"strconv"
	"strings"
	"time"

	"github.com/modmono/shop/platform/freeport"
)

const benchAdminPassword = "bench-admin-password"

// buildApp builds cmd/app into dir.
func buildApp(ctx context.Context, dir string) (string, error) {
	return goBuild(ctx, filepath.Join(dir, "app"))
}

// buildExtracted builds module's own binary into dir, as `go run ./cmd/extract
// build MODULE` does: cmd/app with the build tags extract,extract_MODULE.
func buildExtracted(ctx context.Context, dir, module string) (string, error) {
	return goBuild(ctx, filepath.Join(dir, module), "-tags", "extract,extract_"+module)
}

func goBuild(ctx context.Context, bin string, flags ...string) (string, error) {
	args := append(append([]string{"build"}, flags...), "-o", bin, "github.com/modmono/shop/cmd/app")
	build := exec.CommandContext(ctx, "go", args...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return bin, nil
}

// appProcess is cmd/app running as its own process, and a client of it.
type appProcess struct {
	name   string
	base   string
	client *http.Client
	admin  string // an admin's bearer token
	cmd    *exec.Cmd
	logs   string        // the file its output goes to
	done   chan struct{} // closed when the process has exited
	err    error         // how it exited, once done is closed
}

// startApp runs bin against dsn with env added, waits until it is ready and
// logs in as its admin. Rate limits are lifted: the load comes from one address.
func startApp(bin, dsn, dataDir string, clients int, env ...string) (*appProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	a, err := launchApp("app", bin, addr, dsn, dataDir, clients, env...)
	if err != nil {
		return nil, err
	}
	if err := a.ready(); err != nil {
		a.stop()
		return nil, err
	}
	if a.admin, err = a.login("admin@example.com", benchAdminPassword); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// freeAddr returns a loopback address for a process the bench is about to
// start. The reservation lasts until the bench exits: it starts few.
func freeAddr() (string, error) {
	p, err := freeport.Reserve()
	if err != nil {
		return "", err
	}
	return p.Addr(), nil
}

// logDir, when set (-logs), keeps the processes' logs after the run.
var logDir string

// launchApp starts bin listening on addr, with the bench's environment and
// env added (a later value wins; an empty one unsets the variable for
// cmd/app), appending its log to <dataDir or logDir>/<name>.log, without
// waiting for it.
func launchApp(name, bin, addr, dsn, dataDir string, clients int, env ...string) (*appProcess, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "APP_HTTP_ADDR="+addr, "DATABASE_URL="+dsn, "APP_LOG_FORMAT=json", "APP_LOG_LEVEL=warn",
		"APP_SEED_DEMO=false", "APP_DATA_DIR="+dataDir, "APP_ADMIN_PASSWORD="+benchAdminPassword,
		"APP_JWT_SECRET=bench-secret-bench-secret-bench-secret",
		"APP_RATE_LIMIT_LOGIN=1000000", "APP_RATE_LIMIT_REGISTER=1000000", "APP_RATE_LIMIT_ORDERS=1000000")
	cmd.Env = append(cmd.Env, env...)
	dir := dataDir
	if logDir != "" {
		dir = logDir
	}
	logPath := filepath.Join(dir, name+".log")
	logs, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	a := &appProcess{name: name, base: "http://" + addr, cmd: cmd, logs: logPath, done: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	track(a)
	go func() {
		a.err = cmd.Wait()
		logs.Close()
		close(a.done)
	}()
	return a, nil
}

// ready waits until a answers /health/ready, and fails at once if it exits.
func (a *appProcess) ready() error { return a.readyEvery(100 * time.Millisecond) }

// readyEvery waits until a answers /health/ready with 200, polling every
// interval, and fails at once if it exits.
func (a *appProcess) readyEvery(interval time.Duration) error {
	const timeout = 90 * time.Second
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-a.done:
			return fmt.Errorf("%s exited during start-up (%v):\n%s", a.name, a.err, a.logTail())
		default:
		}
		if resp, err := a.client.Get(a.base + "/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(interval)
	}
	return fmt.Errorf("%s not ready after %s:\n%s", a.name, timeout, a.logTail())
}

// logTail returns the last lines of the process's log.
func (a *appProcess) logTail() string {
	b, err := os.ReadFile(a.logs)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-15, 0):], "\n")
}

// exited says, if the process has exited, how.
func (a *appProcess) exited() string {
	select {
	case <-a.done:
		return fmt.Sprintf(" (%s exited: %v):\n%s", a.name, a.err, a.logTail())
	default:
		return ""
	}
}

// stop interrupts the process and waits for it to exit, killing it if it
// has not drained within its shutdown grace and some.
func (a *appProcess) stop() {
	a.client.CloseIdleConnections()
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	untrack(a)
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func (a *appProcess) call(method, path, token string, body any, out any, headers ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (a *appProcess) login(email, password string) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	status, err := a.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &tok)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %v%s", email, status, err, a.exited())
	}
	return tok.AccessToken, nil
}

// product creates a product with stock and returns its id.
func (a *appProcess) product(price, stock int64) (string, error) {
	var p struct{ ID string }
	status, err := a.call("POST", "/api/v1/products", a.admin, map[string]any{"name": "Bench tea", "price": price, "currency": "EUR"}, &p)
	if err != nil || status != http.StatusCreated {
		return "", fmt.Errorf("create product: %d %v", status, err)
	}
	status, err = a.call("PUT", "/api/v1/inventory/"+p.ID, a.admin, map[string]int64{"on_hand": stock}, nil)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("set stock: %d %v", status, err)
	}
	return p.ID, nil
}

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// Linux everywhere in practice).
const clockTicks = 100

// cpuTime returns the CPU time (user and system) the process has used, read
// from /proc; false where there is none. CPU per unit of work is less
// sensitive to other load on the machine than throughput.
func (a *appProcess) cpuTime() (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces: count from its ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}
