// Package app implements beta. It knows alpha only through alphaapi and
// through alpha's events.
package app

import (
	"example.com/shop/modules/alpha/alphaapi"
	"example.com/shop/modules/beta/betaapi"
)

const consumer = "beta.on_alpha.item_created"

var topics = []string{alphaapi.ItemCreated, betaapi.LinkCreated, "alpha.item_created"}

func queries() []string {
	return []string{
		"SELECT alpha_id FROM links WHERE alpha_id = $1",
		`INSERT INTO beta.links (alpha_id) VALUES ($1)`,
		"UPDATE links SET alphabet.x = 1", // not the alpha schema
	}
}
