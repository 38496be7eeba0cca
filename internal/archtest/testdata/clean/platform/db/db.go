// Package db opens a module's schema, e.g. "alpha", by name.
package db

import "io/fs"

// Code is an error code such as "alpha.item_not_found".
type Code string

// DB is a module's database.
type DB struct{ schema string }

// Open opens the schema named module.
func Open(module string, migrations fs.FS) *DB {
	_ = "SELECT id FROM outbox WHERE topic = $1"
	_ = "SET search_path TO " + module
	return &DB{schema: module}
}
