// Package devpg gives local development a PostgreSQL database with no setup.
//
// When the app's DATABASE_URL is empty it calls Start, which initializes a
// cluster under .data/postgres (the first time only) and starts it on a free
// loopback port, or reuses the server another run of the app left running on
// that directory. It uses the PostgreSQL server programs already installed on
// the machine and never downloads anything: whoever has Postgres installed gets
// a working database for free, and whoever hasn't gets an error saying how to
// install it, or to set DATABASE_URL to an existing database instead.
//
// The cluster is for development only. Every connection is trusted (no
// password), so the server listens on 127.0.0.1 only. Its Unix socket is
// turned off because the default socket directory of distribution builds
// (/var/run/postgresql) is usually not writable by a developer's account.
// Durability settings are left at their defaults: a crash must not corrupt a
// developer's data.
//
// initdb, pg_ctl and postgres refuse to run as root, yet containers and CI
// usually run as root. Then the programs run as the "postgres" system user
// that the distribution's package creates, the data directory is owned by that
// user, and every directory above it must be traversable by that user.
//
// A server that Start started keeps running until Stop, even if the process
// dies first; the next Start then finds and reuses it. To stop such a leftover
// server by hand, run: pg_ctl -D .data/postgres stop
//
// The package is for Unix-like systems (Linux, macOS).
package devpg
