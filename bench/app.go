package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const benchAdminPassword = "bench-admin-password"

// buildApp builds cmd/app into dir.
func buildApp(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "app")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/modmono/shop/cmd/app")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build cmd/app: %w", err)
	}
	return bin, nil
}

// appProcess is cmd/app running as its own process, and a client of it.
type appProcess struct {
	base   string
	client *http.Client
	admin  string // an admin's bearer token
	cmd    *exec.Cmd
}

// startApp runs bin against dsn with env added, waits until it is ready and
// logs in as its admin. Rate limits are lifted: the load comes from one address.
func startApp(bin, dsn, dataDir string, clients int, env ...string) (*appProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "APP_HTTP_ADDR="+addr, "DATABASE_URL="+dsn, "APP_LOG_FORMAT=json", "APP_LOG_LEVEL=warn",
		"APP_SEED_DEMO=false", "APP_DATA_DIR="+dataDir, "APP_ADMIN_PASSWORD="+benchAdminPassword,
		"APP_JWT_SECRET=bench-secret-bench-secret-bench-secret",
		"APP_RATE_LIMIT_LOGIN=1000000", "APP_RATE_LIMIT_REGISTER=1000000", "APP_RATE_LIMIT_ORDERS=1000000")
	cmd.Env = append(cmd.Env, env...)
	logs, err := os.Create(filepath.Join(dataDir, "app.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &appProcess{base: "http://" + addr, cmd: cmd,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	if err := waitReady(a.client, a.base+"/health/ready", 90*time.Second); err != nil {
		a.stop()
		return nil, err
	}
	if a.admin, err = a.login("admin@example.com", benchAdminPassword); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

func (a *appProcess) stop() {
	_ = a.cmd.Process.Signal(os.Interrupt)
	_ = a.cmd.Wait()
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
		return "", fmt.Errorf("login %s: %d %v", email, status, err)
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

func waitReady(client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("cmd/app not ready after %s", timeout)
}
