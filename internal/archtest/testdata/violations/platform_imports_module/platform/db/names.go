package db

import "example.com/shop/modules/alpha/alphaapi"

var topics = []string{alphaapi.ItemCreated}
