// Package httpx is the HTTP platform every module's handlers run on.
//
// It exists so that each module only writes handlers: the router built by
// NewRouter already tags every request with a correlation ID, logs it once,
// counts it per route, turns panics into problem responses, caps the body and
// puts a deadline on the context. The helpers make the edges uniform too:
// DecodeJSON rejects anything that is not exactly the expected JSON, and
// WriteError answers every failure as an RFC 9457 problem with a stable code,
// so clients and tests can rely on the same behaviour in every module.
package httpx
