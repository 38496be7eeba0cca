package rpc_test

import (
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/rpc"
	"github.com/modmono/shop/platform/telemetry"
)

// TestCallIsTracedAcrossHTTP: a remote call is a chain of spans of the
// caller's trace: the call as the caller sees it, its HTTP request, the
// server's request and the call as the module serves it.
func TestCallIsTracedAcrossHTTP(t *testing.T) {
	t.Parallel()
	tokens := newTokens()
	root := chi.NewRouter()
	root.Use(httpx.Trace)
	internal := chi.NewRouter()
	internal.Use(tokens.RequireService)
	rpc.Mount[Greeter](internal, module, &fake{}, zap.NewNop())
	root.Mount(rpc.PathPrefix, internal)
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	_, g, _ := newClientWith(t, tokens, fastRetries(), srv.URL)

	ctx, caller := telemetry.Tracer("test").Start(t.Context(), "caller")
	if _, err := g.Hello(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	caller.End()

	want := []struct{ name, kind string }{
		{"caller", "internal"}, {"greeter.Hello", "client"}, {"POST greeter", "client"},
		{"POST /internal/greeter/Hello", "server"}, {"greeter.Hello", "server"},
	}
	var tr telemetry.Trace
	eventually(t, "the server's spans", func() bool {
		var ok bool
		tr, ok = tel.Recorder.Trace(caller.SpanContext().TraceID().String())
		return ok && len(tr.Spans) == len(want)
	})
	parent := ""
	for i, w := range want {
		s := tr.Spans[i] // in start order
		if s.Name != w.name || s.Kind != w.kind || s.ParentSpanID != parent {
			t.Errorf("span %d: %s %s (parent %q), want %s %s (parent %q)", i, s.Name, s.Kind, s.ParentSpanID, w.name, w.kind, parent)
		}
		if i > 0 && s.Module != module {
			t.Errorf("span %s: module %q, want %q", s.Name, s.Module, module)
		}
		parent = s.SpanID
	}
}
