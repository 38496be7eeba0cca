package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/auth"
	"github.com/modmono/shop/platform/correlation"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/problem"
	"github.com/modmono/shop/platform/telemetry"
)

// Errors of remote calls that never reached the module's own code.
var (
	// ErrUnavailable means a module this request needs runs in another process that could not be
	// reached, failed, or whose circuit breaker is open. The outcome of a call that failed so is
	// unknown. Retry later; check that process's /health/ready and the rpc_breaker_state metric.
	ErrUnavailable = apperr.New(apperr.KindUnavailable, "rpc.unavailable", "a module this request needs is unavailable; retry later")
	// ErrOverloaded means too many calls to a module in another process are already in flight (its
	// bulkhead is full). Retry later.
	ErrOverloaded = apperr.New(apperr.KindUnavailable, "rpc.overloaded", "too many calls to a module this request needs are in progress; retry later")
)

// ErrInvalidText means a call to a module in another process carried text that is not valid UTF-8,
// so it was refused before it was sent.
var ErrInvalidText = apperr.New(apperr.KindInvalid, "rpc.invalid_text", "an argument holds text that is not valid UTF-8")

// validUTF8 reports whether every string reachable from v is valid UTF-8.
func validUTF8(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || validUTF8(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !validUTF8(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true // []byte travels as base64
		}
		for i := range v.Len() {
			if !validUTF8(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if !validUTF8(it.Key()) || !validUTF8(it.Value()) {
				return false
			}
		}
	}
	return true
}

// Options tune a Client. Zero values take the defaults in the comments.
type Options struct {
	Timeout         time.Duration // one attempt; default 10s (a shorter context deadline wins)
	MaxAttempts     int           // attempts of an idempotent call; default 3
	RetryInitial    time.Duration // first backoff; default 50ms, with ±50% jitter
	RetryMax        time.Duration // backoff cap; default 1s
	MaxConcurrent   int           // bulkhead: calls in flight to the module; default 128
	BreakerFailures uint32        // consecutive failures that open the breaker; default 5
	BreakerOpenFor  time.Duration // how long it stays open before a trial call; default 5s
	HealthInterval  time.Duration // instance health checks; default 2s
	EjectAfter      int           // consecutive failures that eject an instance; default 3
}

func (o *Options) setDefaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.Timeout, 10*time.Second)
	set(&o.RetryInitial, 50*time.Millisecond)
	set(&o.RetryMax, time.Second)
	set(&o.BreakerOpenFor, 5*time.Second)
	set(&o.HealthInterval, 2*time.Second)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 128
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	if o.EjectAfter <= 0 {
		o.EjectAfter = 3
	}
}

// Client calls one remote module. It is safe for concurrent use.
type Client struct {
	module  string
	opts    Options
	pool    *pool
	http    *http.Client
	tokens  *auth.ServiceTokens
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
	metrics *metrics
	log     *zap.Logger
}

// NewClient returns a client of module at the base URLs. tokens signs its
// calls; m may be nil (no metrics).
func NewClient(module string, bases []string, tokens *auth.ServiceTokens, opts Options, m *metrics, log *zap.Logger) (*Client, error) {
	opts.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("remote", module))
	p, err := newPool(module, bases, opts.EjectAfter, log)
	if err != nil {
		return nil, err
	}
	c := &Client{
		module: module, opts: opts, pool: p, tokens: tokens, metrics: m, log: log,
		http:  &http.Client{Transport: traced(newTransport(), module)},
		slots: make(chan struct{}, opts.MaxConcurrent),
	}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        module,
		MaxRequests: 1,
		Timeout:     opts.BreakerOpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= opts.BreakerFailures },
		// Only failures of the remote count: an answer of the module, even
		// an error, shows it is alive; a caller that gave up says nothing.
		IsSuccessful: func(err error) bool { return !isFailure(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, errCallerGone) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			level := zap.InfoLevel
			if to == gobreaker.StateOpen {
				level = zap.WarnLevel
			}
			log.Log(level, "circuit breaker of a remote module changed state",
				zap.String("from", from.String()), zap.String("to", to.String()))
		},
	})
	if m != nil {
		m.add(c)
	}
	return c, nil
}

// newTransport keeps enough idle connections per instance for a busy
// caller: Go's default of 2 would open and close a connection per call.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // calls inside the deployment never go through an HTTP proxy
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     false,
	}
}

// traced gives every request through t a client span, child of the
// caller's span, and puts the trace context on it (traceparent).
func traced(t http.RoundTripper, module string) http.RoundTripper {
	return otelhttp.NewTransport(t,
		otelhttp.WithSpanOptions(trace.WithAttributes(telemetry.Module(module))),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + module }))
}

// Module returns the remote module's name.
func (c *Client) Module() string { return c.module }

// BreakerState returns the circuit breaker's state.
func (c *Client) BreakerState() gobreaker.State { return c.breaker.State() }

// Call calls method with args and decodes its result into out (nil for a
// method that returns only an error). idempotent calls are retried after a
// failure of the remote; others are tried once, since their outcome is then
// unknown.
func (c *Client) Call(ctx context.Context, method string, idempotent bool, out any, args ...any) (err error) {
	if args == nil {
		args = []any{}
	}
	if !validUTF8(reflect.ValueOf(args)) {
		// JSON cannot carry such text: encoding/json would replace the bad
		// bytes and the module would see, and maybe store, other text than
		// the caller's. Refused here instead, as invalid input.
		return ErrInvalidText
	}
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("rpc: encode the arguments of %s.%s: %w", c.module, method, err)
	}
	start := time.Now()
	ctx, span := telemetry.StartRemote(ctx, c.module, method)
	defer func() {
		c.metrics.observe(c.module, method, err, time.Since(start))
		telemetry.End(span, err)
	}()

	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	default:
		return ErrOverloaded.Wrap(fmt.Errorf("%d calls to %s in flight", cap(c.slots), c.module))
	}

	wait := &backoff.ExponentialBackOff{
		InitialInterval: c.opts.RetryInitial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: c.opts.RetryMax,
	}
	wait.Reset()
	for attempt := 1; ; attempt++ {
		_, err = c.breaker.Execute(func() (struct{}, error) {
			return struct{}{}, c.attempt(ctx, method, body, out)
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return ErrUnavailable.Wrap(fmt.Errorf("%s: circuit breaker %w", c.module, err))
		}
		var f *failure
		if !errors.As(err, &f) || f.noRetry || !idempotent || attempt >= c.opts.MaxAttempts {
			return publicError(err)
		}
		delay := wait.NextBackOff()
		c.log.Debug("retrying a remote call", zap.String("method", method), zap.Int("attempt", attempt),
			zap.Duration("in", delay), zap.Error(err))
		select {
		case <-ctx.Done():
			return publicError(err)
		case <-time.After(delay):
		}
	}
}

// failure is an attempt that says nothing about the request: the module was
// not reached, did not answer in time, or broke. It counts against the
// breaker and the instance, and an idempotent call is retried.
type failure struct {
	err     error
	noRetry bool // a 4xx: counts against the remote, but is never retried
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func isFailure(err error) bool { return errors.As(err, new(*failure)) }

// errCallerGone marks an attempt the caller abandoned (it canceled its
// context, or its context had ended before the attempt).
var errCallerGone = errors.New("rpc: the caller's context ended")

// publicError turns a failure into ErrUnavailable; a module's own answer
// and a caller's ended context are returned as they are.
func publicError(err error) error {
	if err == nil || !isFailure(err) {
		return err
	}
	return ErrUnavailable.Wrap(err)
}

func (c *Client) attempt(ctx context.Context, method string, body []byte, out any) error {
	if err := ctx.Err(); err != nil { // the remote is not even tried
		return fmt.Errorf("%w: %w", errCallerGone, err)
	}
	inst := c.pool.next()
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	err := c.send(actx, inst, method, body, out)
	switch {
	case err == nil || !isFailure(err):
		inst.succeeded()
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %w", errCallerGone, ctx.Err())
	default:
		// A remote that did not answer before the caller's deadline is
		// failing like one that outlived the attempt's timeout: a request
		// handler's context always ends before Options.Timeout does.
		inst.failed(err)
	}
	return err
}

func (c *Client) send(ctx context.Context, inst *instance, method string, body []byte, out any) error {
	url := inst.base + PathPrefix + "/" + c.module + "/" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &failure{err: err}
	}
	token, err := c.tokens.Token()
	if err != nil {
		return fmt.Errorf("rpc: service token: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set(auth.ServiceHeader, token)
	propagate(ctx, h)
	if deadline, ok := ctx.Deadline(); ok {
		h.Set(TimeoutHeader, strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &failure{err: fmt.Errorf("%s.%s at %s: %w", c.module, method, inst.base, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &failure{err: fmt.Errorf("%s.%s: read the answer: %w", c.module, method, err)}
	}
	switch {
	case resp.StatusCode == http.StatusOK && out != nil:
		if err := json.Unmarshal(b, out); err != nil {
			return &failure{err: fmt.Errorf("%s.%s: decode the answer: %w", c.module, method, err)}
		}
		return nil
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == problem.ContentType {
		var p problem.Problem
		if json.Unmarshal(b, &p) == nil && p.Code != "" && !notAnAnswer[p.Code] {
			return p.Err()
		}
	}
	return &failure{err: fmt.Errorf("%s.%s at %s: status %d", c.module, method, inst.base, resp.StatusCode),
		noRetry: resp.StatusCode < 500}
}

// notAnAnswer lists the problem codes that come from the server around the
// module rather than from it: a broken server, a missing route (the URL does
// not lead to the module) or a request that outlived the server's limit.
var notAnAnswer = map[string]bool{
	// the callee refused this process's service token: the deployment's
	// APP_JWT_SECRET differs between them, which no retry mends
	auth.ErrInvalidServiceToken.Code: true,
	problem.Internal:                 true,
	httpx.ErrNotFound.Code:           true,
	httpx.ErrMethodNotAllowed.Code:   true,
	httpx.ErrTimeout.Code:            true,
}

// maxResponse bounds an answer read into memory.
const maxResponse = 32 << 20

// propagate puts the work's correlation ID from ctx on an outgoing request,
// so the next process logs it as one; the traceparent is the transport's
// (see traced).
func propagate(ctx context.Context, h http.Header) {
	if id := correlation.ID(ctx); id != "" {
		h.Set(correlation.Header, id)
	}
}

// maxDocument bounds what Get reads.
const maxDocument = 1 << 20

// Get fetches a public document of the remote module, path on one of its
// instances (a key set, say), and returns its body; an answer other than
// 200 is an error. It has no retries and no breaker: its callers cache what
// it returns and keep the last good copy.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	inst := c.pool.next()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.base+path, nil)
	if err != nil {
		return nil, err
	}
	propagate(ctx, req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rpc: GET %s of %s: %w", path, c.module, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("rpc: GET %s of %s: %s", path, c.module, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err == nil && len(b) > maxDocument {
		err = fmt.Errorf("rpc: GET %s of %s: larger than %d bytes", path, c.module, maxDocument)
	}
	return b, err
}
