// Package store keeps alpha's items; it may name its own schema.
package store

import "example.com/shop/modules/alpha/alphaapi"

func get(lock bool) string {
	q := `SELECT id, "from"
		FROM alpha.items
		WHERE id = $1`
	if lock {
		q += " FOR UPDATE"
	}
	return q + " -- " + alphaapi.ItemCreated
}
