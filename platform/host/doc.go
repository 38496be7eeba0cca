// Package host is the shared runtime every module plugs into: configuration,
// logging, metrics, per-module databases (with the development Postgres when
// no DATABASE_URL is given), the bus, the HTTP router and the server with
// graceful shutdown, all as fx providers.
//
// Order matters at shutdown, and fx stops in reverse start order: Serve must
// be the last option so the HTTP server stops first (draining in-flight
// requests), then the bus (relays, then running handlers), then the module
// databases, then the development Postgres.
package host
