package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/modmono/shop/platform/apperr"
	"github.com/modmono/shop/platform/httpx"
	"github.com/modmono/shop/platform/telemetry"
)

// PathPrefix is where every process serves its modules' interfaces. The
// public gateway never proxies it.
const PathPrefix = "/internal"

// TimeoutHeader tells the server how long the caller still waits, in
// milliseconds, so it does not work on after the caller gave up.
const TimeoutHeader = "Request-Timeout"

// answerMargin is the part of the caller's remaining time the server keeps
// back, so that its own answer (a timeout of the module, say) reaches the
// caller before the caller gives up: a tenth, at most 250 ms.
func answerMargin(left time.Duration) time.Duration { return min(left/10, 250*time.Millisecond) }

// maxTimeoutMillis is the largest TimeoutHeader a time.Duration can hold.
const maxTimeoutMillis = int64(math.MaxInt64 / time.Millisecond)

// ErrBadCall means a call to /internal/<module>/<Method> had arguments that do not fit the method:
// another version of the caller, or a hand-made request.
var ErrBadCall = apperr.New(apperr.KindInvalid, "rpc.bad_call", "the arguments do not fit the method")

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// Mount serves impl's methods of the interface I on r (which is mounted at
// PathPrefix and admits only service callers) under /<module>/<Method>.
// It panics at start-up if I is not an interface of methods shaped
// func(context.Context, args...) (result, error) or (error).
func Mount[I any](r chi.Router, module string, impl I, log *zap.Logger) {
	iface := reflect.TypeFor[I]()
	if iface.Kind() != reflect.Interface {
		panic(fmt.Sprintf("rpc: %v is not an interface", iface))
	}
	v := reflect.ValueOf(impl)
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if err := checkSignature(m.Type); err != nil {
			panic(fmt.Sprintf("rpc: %v.%s: %v", iface, m.Name, err))
		}
		h := method{module: module, name: m.Name, fn: v.MethodByName(m.Name), typ: m.Type}
		r.Post("/"+module+"/"+m.Name, httpx.Handle(log, h.serve))
	}
}

func checkSignature(t reflect.Type) error {
	if t.NumIn() == 0 || t.In(0) != contextType {
		return fmt.Errorf("the first parameter must be a context.Context")
	}
	if t.IsVariadic() {
		return fmt.Errorf("variadic methods are not supported")
	}
	switch {
	case t.NumOut() == 1 && t.Out(0) == errorType:
	case t.NumOut() == 2 && t.Out(1) == errorType:
	default:
		return fmt.Errorf("the results must be (error) or (T, error)")
	}
	return nil
}

type method struct {
	module, name string
	fn           reflect.Value
	typ          reflect.Type
}

// serve runs one call in the span "<module>.<Method>", child of the
// request's server span.
func (m method) serve(w http.ResponseWriter, r *http.Request) (err error) {
	ctx, span := telemetry.StartServed(r.Context(), m.module, m.name)
	defer func() { telemetry.End(span, err) }()
	return m.call(w, r.WithContext(ctx))
}

func (m method) call(w http.ResponseWriter, r *http.Request) error {
	var raw []json.RawMessage
	if err := httpx.DecodeJSON(r, &raw); err != nil {
		return err
	}
	if want := m.typ.NumIn() - 1; len(raw) != want {
		return ErrBadCall.WithMessage(fmt.Sprintf("want %d arguments, got %d", want, len(raw)))
	}
	ctx := r.Context()
	// A value too large for a time.Duration would overflow into a deadline
	// in the past: it sets none.
	if ms, err := strconv.ParseInt(r.Header.Get(TimeoutHeader), 10, 64); err == nil && ms > 0 && ms <= maxTimeoutMillis {
		left := time.Duration(ms) * time.Millisecond
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, left-answerMargin(left))
		defer cancel()
	}
	args := make([]reflect.Value, 0, m.typ.NumIn())
	args = append(args, reflect.ValueOf(ctx))
	for i, b := range raw {
		p := reflect.New(m.typ.In(i + 1))
		// Unknown fields are ignored, as in event payloads: a caller built
		// from a newer contract (an added optional field) keeps working with
		// this older server during a rolling upgrade.
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(p.Interface()); err != nil {
			return ErrBadCall.WithMessage(fmt.Sprintf("argument %d: %v", i+1, err))
		}
		args = append(args, p.Elem())
	}
	out := m.fn.Call(args)
	if err, _ := out[len(out)-1].Interface().(error); err != nil {
		return err
	}
	if len(out) == 1 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, out[0].Interface())
	return nil
}
