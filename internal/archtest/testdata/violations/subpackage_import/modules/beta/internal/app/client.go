package app

import "example.com/shop/modules/alpha/alphaapi/alphaclient"

var _ = alphaclient.New
