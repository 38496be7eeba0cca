package alphaapi

import alphamigrations "example.com/shop/migrations/alpha"

var Schema = alphamigrations.FS
