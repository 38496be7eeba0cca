// Package health serves the liveness and readiness probes.
//
// Liveness (/health/live) only says the process answers HTTP, so an
// orchestrator restarts it when it hangs. Readiness (/health/ready) runs the
// registered dependency checks, concurrently and each under a short timeout,
// so a slow dependency cannot make the probe itself time out; it shows check
// errors only when asked to (development), since in production they could
// reveal internals.
package health
