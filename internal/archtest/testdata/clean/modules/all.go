// Package modules is the registry: like cmd/, it assembles every module.
package modules

import (
	alphamigrations "example.com/shop/migrations/alpha"
	"example.com/shop/modules/alpha"
	"example.com/shop/modules/beta"
)

var All = []string{alpha.Name, beta.Name}

var _ = alphamigrations.FS
