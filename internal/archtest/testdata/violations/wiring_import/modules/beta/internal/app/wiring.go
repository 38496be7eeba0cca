package app

import "example.com/shop/modules/alpha"

var _ = alpha.Name
