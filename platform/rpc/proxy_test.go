package rpc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/problem"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/platform/telemetry"
)

// TestMain installs tracing, as a process has it, so calls carry traceparent.
func TestMain(m *testing.M) {
	var err error
	tel, err = telemetry.New(context.Background(), telemetry.Config{ServiceName: "rpc-test", MaxTraces: 10000, MaxSpans: 100000}, nil, nil)
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = tel.Shutdown(context.Background())
	os.Exit(code)
}

// tel is the tests' tracing; its Recorder holds their spans.
var tel *telemetry.Telemetry

// traceID is the trace ID in traceparent tp, or "".
func traceID(tp string) string {
	if len(tp) != 55 {
		return ""
	}
	return tp[3:35]
}

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// gatewayRequest is a public request as the gateway's router hands it to
// the proxy: its context carries the correlation ID and the request's span.
func gatewayRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body)) // from 192.0.2.1
	ctx := telemetry.WithTraceparent(correlation.With(r.Context(), "corr-1"), traceparent)
	return r.WithContext(ctx)
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- string(b)
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":1}`)
	}))
	t.Cleanup(srv.Close)
	c, _, _ := newClientWith(t, tokens, rpc.Options{}, srv.URL)

	r := gatewayRequest(http.MethodPost, "http://shop.example/api/v1/products?q=red&sort=-price", `{"name":"x"}`)
	r.Header.Set("Authorization", "Bearer user-token")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(auth.ServiceHeader, "forged")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set(correlation.Header, "client-chosen")
	rec := httptest.NewRecorder()
	c.Proxy().ServeHTTP(rec, r)

	if rec.Code != http.StatusCreated || rec.Body.String() != `{"id":1}` || rec.Header().Get("X-Answer") != "yes" {
		t.Fatalf("answer %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	in, body := <-got, <-bodies
	u, _ := url.Parse(srv.URL)
	for what, pair := range map[string][2]string{
		"method":         {in.Method, http.MethodPost},
		"path":           {in.URL.Path, "/api/v1/products"},
		"query":          {in.URL.RawQuery, "q=red&sort=-price"},
		"body":           {body, `{"name":"x"}`},
		"host":           {in.Host, u.Host},
		"authorization":  {in.Header.Get("Authorization"), "Bearer user-token"},
		"content type":   {in.Header.Get("Content-Type"), "application/json"},
		"correlation ID": {in.Header.Get(correlation.Header), "corr-1"},
		"trace ID":       {traceID(in.Header.Get(telemetry.TraceparentHeader)), traceparent[3:35]}, // the trace goes on
		"forwarded for":  {strings.Join(in.Header.Values("X-Forwarded-For"), ","), "192.0.2.1"},
		"forwarded host": {in.Header.Get("X-Forwarded-Host"), "shop.example"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s: %q, want %q", what, pair[0], pair[1])
		}
	}
	token := in.Header.Values(auth.ServiceHeader)
	if len(token) != 1 || token[0] == "forged" {
		t.Fatalf("service token %q", token)
	}
	if svc, err := tokens.VerifyForwarded(token[0]); err != nil || svc != "test" {
		t.Fatalf("the forwarding token: %q %v", svc, err)
	}
	if _, err := tokens.Verify(token[0]); err == nil {
		t.Fatal("the forwarding token opens /internal")
	}
}

func TestProxyUnavailable(t *testing.T) {
	t.Parallel()
	c, _, _ := newClient(t, rpc.Options{}, unreachable)
	rec := httptest.NewRecorder()
	c.Proxy().ServeHTTP(rec, gatewayRequest(http.MethodGet, "/api/v1/products", ""))
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%d %q: %v", rec.Code, rec.Body, err)
	}
	if rec.Code != http.StatusServiceUnavailable || p.Code != rpc.ErrUnavailable.Code || p.CorrelationID != "corr-1" {
		t.Fatalf("%d %+v", rec.Code, p)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q", ct)
	}
	if strings.Contains(rec.Body.String(), "127.0.0.1") || strings.Contains(rec.Body.String(), "refused") {
		t.Fatalf("the problem reveals the backend: %s", rec.Body)
	}
}

// The proxy balances over the instances and ejects one it cannot reach.
func TestProxyEjects(t *testing.T) {
	t.Parallel()
	live, n := serveFunc(t, answerOK)
	c, _, _ := newClient(t, rpc.Options{EjectAfter: 1}, live.URL, unreachable)
	proxy := c.Proxy()
	failed := 0
	for range 10 {
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, gatewayRequest(http.MethodGet, "/api/v1/x", ""))
		if rec.Code != http.StatusOK {
			failed++
		}
	}
	if failed != 1 || n.Load() != 9 {
		t.Fatalf("%d failed, the live instance got %d", failed, n.Load())
	}
}

// A body over the limit is refused by the proxy, as the module would refuse
// it, and is no failure of the instance.
func TestProxyBodyLimit(t *testing.T) {
	t.Parallel()
	srv, n := serveFunc(t, answerOK)
	c, _, _ := newClient(t, rpc.Options{EjectAfter: 1}, srv.URL)
	proxy := httpx.LimitBody(10)(c.Proxy())
	for name, r := range map[string]*http.Request{
		"declared length": gatewayRequest(http.MethodPost, "/api/v1/x", strings.Repeat("a", 11)),
		"chunked":         chunked(gatewayRequest(http.MethodPost, "/api/v1/x", strings.Repeat("a", 100))),
	} {
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), httpx.ErrBodyTooLarge.Code) {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if got := n.Load(); got > 1 { // a chunked body is refused once the proxy has read past the limit
		t.Fatalf("the backend got %d requests", got)
	}
	rec := httptest.NewRecorder()
	proxy.ServeHTTP(rec, gatewayRequest(http.MethodPost, "/api/v1/x", "small"))
	if rec.Code != http.StatusOK {
		t.Fatalf("a small body after refusals: %d %s (the instance was ejected?)", rec.Code, rec.Body)
	}
}

// chunked makes r's body of unknown length, as a chunked upload is.
func chunked(r *http.Request) *http.Request {
	r.ContentLength = -1
	r.Body = io.NopCloser(r.Body)
	return r
}

// The query goes on as the client sent it, even the parts ReverseProxy
// would drop: the module refuses a malformed query itself.
func TestProxyKeepsTheRawQuery(t *testing.T) {
	t.Parallel()
	queries := make(chan string, 1)
	srv, _ := serveFunc(t, func(w http.ResponseWriter, r *http.Request) { queries <- r.URL.RawQuery })
	c, _, _ := newClient(t, rpc.Options{}, srv.URL)
	const raw = "limit=10&x=%zz&a;b=1&q=caf%C3%A9"
	c.Proxy().ServeHTTP(httptest.NewRecorder(), gatewayRequest(http.MethodGet, "/api/v1/x?"+raw, ""))
	if got := <-queries; got != raw {
		t.Fatalf("query %q, want %q", got, raw)
	}
}

// Dot segments and encoded slashes are refused, not passed to hops that
// might resolve them into /internal; a request a gateway of this deployment
// forwarded already is not forwarded again.
func TestProxyRefusesTraversalAndLoops(t *testing.T) {
	t.Parallel()
	srv, hits := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {})
	tokens := newTokens()
	c, _, _ := newClientWith(t, tokens, rpc.Options{}, srv.URL)
	for _, path := range []string{
		"/api/v1/products/../../../internal/catalog/CreateProduct",
		"/api/v1/products/./x",
		"/api/v1/products/..%2f..%2finternal",
		"/api/v1/products/%2e%2e/internal",
		"/api/v1/products/x%5c..%5cinternal",
	} {
		w := httptest.NewRecorder()
		c.Proxy().ServeHTTP(w, gatewayRequest(http.MethodPost, path, "[]"))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	forwarded := gatewayRequest(http.MethodGet, "/api/v1/payments", "")
	tok, err := tokens.ForwardToken()
	if err != nil {
		t.Fatal(err)
	}
	forwarded.Header.Set(auth.ServiceHeader, tok)
	w := httptest.NewRecorder()
	c.Proxy().ServeHTTP(w, forwarded)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), rpc.ErrLoop.Code) {
		t.Errorf("a forwarded request: %d %s", w.Code, w.Body)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d refused requests reached the module", n)
	}
}
