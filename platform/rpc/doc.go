// Package rpc carries a module's Go interface over HTTP, so a module can run
// in another process with no change to its callers.
//
// The server side (Mount) serves every method of an interface by reflection
// at POST /internal/<module>/<Method>: the body is the JSON array of the
// arguments after the context, the answer is the JSON result (204 when the
// method returns only an error) or an RFC 9457 problem whose code and kind
// rebuild the same *apperr.Error on the client, so errors.Is keeps working.
// A result returned together with an error is not carried: APIs return the
// zero value with an error. Who the user is never travels beside the
// arguments: a method that acts for a user takes them as an argument, and
// the module judges what they may do.
//
// The client side is a small generated stub per interface (see
// internal/rpcgen) over Client.Call, which adds what a remote call needs:
// a service token, a timeout, retries with exponential backoff and jitter for
// idempotent methods only (never on a 4xx), a circuit breaker and a bulkhead
// per remote module, and round-robin balancing over the module's instances
// with health-checked ejection.
package rpc
