// Package ratelimit bounds how often a client may call a route: logins and
// registrations per client address, orders per customer (SPEC §4).
//
// A Limiter counts with the GCRA (generic cell rate algorithm): a budget of
// Rule.Limit requests per Rule.Window, all of which may come at once, after
// which one more is admitted every Window/Limit. The counter of a client is a
// single timestamp, so it costs little and needs no sweeping of windows.
//
// Where counters live is a Store. Memory counts in this process: every
// instance limits on its own, so limits loosen as replicas are added. Redis
// (APP_REDIS_URL) counts in one Redis for every instance, with
// github.com/go-redis/redis_rate, whose Lua script is the same algorithm:
// a deployment behaves the same with or without Redis, only with one budget
// instead of one per instance.
//
// A limiter must not take the API down with it, so a shared store fails
// open: a call to Redis that fails or outlasts Options.Timeout is answered by
// this process's own memory counters instead (the limits as without Redis,
// per instance), the failure is logged and counted
// (http_rate_limit_store_errors_total), and Redis is left alone for
// Options.Cooldown before it is tried again, so an outage costs a request at
// most one timeout per cooldown rather than one per request.
package ratelimit
