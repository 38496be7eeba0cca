// Command app runs every module; it may import their wiring and migrations.
package main

import (
	alphamigrations "example.com/shop/migrations/alpha"
	"example.com/shop/modules/alpha"
	"example.com/shop/modules/beta"
)

func main() { _, _, _ = alpha.Name, beta.Name, alphamigrations.FS }
