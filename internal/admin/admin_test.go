package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/modmono/shop/internal/admin"
	"github.com/modmono/shop/internal/apptest"
	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/auth/authtest"
	"github.com/modmono/shop/platform/host"
	"github.com/modmono/shop/platform/telemetry"
)

const jwtSecret = "admin-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"

type app struct {
	url string
	key authtest.Key
}

func start(t *testing.T) app {
	t.Helper()
	var h *host.HTTP
	key := authtest.NewKey(t)
	apptest.Start(t, map[string]string{"APP_JWT_SECRET": jwtSecret, "APP_JWT_PRIVATE_KEY": key.PEM}, &h)
	srv := httptest.NewServer(h.Root)
	t.Cleanup(srv.Close)
	return app{url: srv.URL, key: key}
}

func (a app) token(t *testing.T, role auth.Role) string {
	t.Helper()
	return a.key.Token(t, role)
}

func (a app) do(t *testing.T, ctx context.Context, method, path, token, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (a app) getJSON(t *testing.T, path, token string, v any) {
	t.Helper()
	resp := a.do(t, t.Context(), "GET", path, token, "")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestAdminAPIInProcess: the whole application in one process answers the
// admin views with every module local, streams the events its modules
// publish, and admits admins only.
func TestAdminAPIInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application against Postgres")
	}
	a := start(t)
	adminToken := a.token(t, auth.Admin)

	t.Run("admins only", func(t *testing.T) {
		customer := a.token(t, auth.Customer)
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/admin/architecture"}, {"GET", "/api/v1/admin/events"}, {"GET", "/api/v1/admin/outbox"},
			{"GET", "/api/v1/admin/dead-letters"}, {"POST", "/api/v1/admin/dead-letters/" + uuid.NewString() + "/replay"},
			{"GET", "/api/v1/admin/sagas/" + uuid.NewString()}, {"GET", "/api/v1/admin/traces"},
			{"GET", "/api/v1/admin/traces/0af7651916cd43dd8448eb211c80319c"},
		} {
			for token, want := range map[string]int{"": 401, customer: 403} {
				resp := a.do(t, t.Context(), r.method, r.path, token, "")
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("%s %s (token %t): %d, want %d", r.method, r.path, token != "", resp.StatusCode, want)
				}
			}
		}
	})

	t.Run("architecture", func(t *testing.T) {
		var arch admin.Architecture
		a.getJSON(t, "/api/v1/admin/architecture", adminToken, &arch)
		var names []string
		where := regexp.MustCompile(`^[^@/]+:\d+/[a-z0-9_]+$`)
		for _, m := range arch.Modules {
			names = append(names, m.Name)
			if !m.Local || m.Process != "local" || m.Health != admin.Up || m.Schema != m.Name || m.Breaker != "" {
				t.Errorf("%s: %+v, want local, up, its own schema", m.Name, m)
			}
			if !where.MatchString(m.Database) || strings.Contains(m.Database, "postgres:postgres") {
				t.Errorf("%s: database %q, want host:port/dbname and no credentials", m.Name, m.Database)
			}
			if m.Publishes == nil || m.Consumes == nil || m.Calls == nil || m.CalledBy == nil || m.Instances == nil {
				t.Errorf("%s: a list is null: %+v", m.Name, m)
			}
		}
		if !slices.Equal(names, surfaces.Names()) {
			t.Errorf("modules %v, want %v in start order", names, surfaces.Names())
		}
		if arch.Bus != "gochannel" {
			t.Errorf("bus %q", arch.Bus)
		}
	})

	t.Run("outbox", func(t *testing.T) {
		var o admin.Outbox
		a.getJSON(t, "/api/v1/admin/outbox", adminToken, &o)
		if len(o.Modules) != len(surfaces.All) {
			t.Fatalf("%d modules: %+v", len(o.Modules), o)
		}
		for _, m := range o.Modules {
			if m.Process != "local" || m.Unrelayed == nil || m.OldestAgeSeconds == nil || m.Error != "" {
				t.Errorf("%+v", m)
			}
		}
	})

	t.Run("dead letters", func(t *testing.T) {
		var d struct {
			Items       []json.RawMessage
			NextCursor  *string `json:"next_cursor"`
			Unavailable []string
		}
		a.getJSON(t, "/api/v1/admin/dead-letters", adminToken, &d)
		if d.Items == nil || d.Unavailable == nil || len(d.Unavailable) != 0 {
			t.Errorf("%+v", d)
		}
		resp := a.do(t, t.Context(), "POST", "/api/v1/admin/dead-letters/"+uuid.NewString()+"/replay", adminToken, "")
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("replay of an unknown dead letter: %d", resp.StatusCode)
		}
	})

	t.Run("traces", func(t *testing.T) {
		resp := a.do(t, t.Context(), "POST", "/api/v1/products", adminToken, `{"name":"Teapot","price":4900,"currency":"EUR"}`)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("create a product: %d", resp.StatusCode)
		}
		var list admin.Traces
		a.getJSON(t, "/api/v1/admin/traces?limit=50", adminToken, &list)
		i := slices.IndexFunc(list.Items, func(tr telemetry.Trace) bool { return tr.Root == "POST /api/v1/products" })
		if i < 0 || list.Unavailable == nil {
			t.Fatalf("no trace of the product's creation among %d: %+v", len(list.Items), list)
		}
		tr := list.Items[i]
		if !slices.Contains(tr.Modules, "catalog") || len(tr.Spans) < 3 {
			t.Errorf("the trace of a product's creation: modules %v, %d spans", tr.Modules, len(tr.Spans))
		}
		for _, tr := range list.Items {
			if strings.HasPrefix(tr.Root, "GET /api/v1/admin/") {
				t.Errorf("the admin views' own reads are traced: %s", tr.Root)
			}
		}
		var one telemetry.Trace
		a.getJSON(t, "/api/v1/admin/traces/"+tr.TraceID, adminToken, &one)
		if one.TraceID != tr.TraceID || len(one.Spans) < len(tr.Spans) { // the relay and handlers may have added spans since
			t.Errorf("GET the trace: %s with %d spans, want %s with at least %d", one.TraceID, len(one.Spans), tr.TraceID, len(tr.Spans))
		}
		for path, want := range map[string]int{"/api/v1/admin/traces/not-a-trace": 400,
			"/api/v1/admin/traces/0af7651916cd43dd8448eb211c80319c": 404, "/api/v1/admin/traces?limit=0": 400} {
			resp := a.do(t, t.Context(), "GET", path, adminToken, "")
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
	})

	t.Run("events", func(t *testing.T) {
		correlation := "admin-test-" + uuid.NewString()
		all := openStream(t, a, "", adminToken)
		mine := openStream(t, a, "?type=catalog.&correlation_id="+correlation, adminToken)
		resp := a.do(t, t.Context(), "POST", "/api/v1/products", adminToken,
			`{"name":"Kettle","price":2500,"currency":"EUR"}`, "X-Correlation-ID", correlation)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("create a product: %d", resp.StatusCode)
		}
		for name, s := range map[string]*stream{"unfiltered": all, "filtered": mine} {
			e := s.next(t, func(e map[string]any) bool { return e["correlation_id"] == correlation })
			if e["type"] != "catalog.product_created" {
				t.Errorf("%s: first event of the request: %v", name, e)
			}
			for _, field := range []string{"id", "type", "version", "occurred_at", "correlation_id", "causation_id", "payload"} {
				if _, ok := e[field]; !ok {
					t.Errorf("%s: the envelope lacks %s: %v", name, field, e)
				}
			}
		}
	})
}

// stream is an open event stream.
type stream struct {
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

func openStream(t *testing.T, a app, query, token string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	resp := a.do(t, ctx, "GET", "/api/v1/admin/events"+query, token, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{lines: bufio.NewScanner(resp.Body), cancel: cancel}
}

// next returns the next event's envelope that satisfies match, failing after 20 s.
func (s *stream) next(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	found := make(chan map[string]any, 1)
	go func() {
		for s.lines.Scan() {
			data, ok := strings.CutPrefix(s.lines.Text(), "data: ")
			var e map[string]any
			if ok && json.Unmarshal([]byte(data), &e) == nil && match(e) {
				found <- e
				return
			}
		}
		close(found)
	}()
	select {
	case e, ok := <-found:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(20 * time.Second):
		s.cancel()
		t.Fatal("no matching event within 20s")
	}
	return nil
}
