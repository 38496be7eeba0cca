package alphaapi

import "example.com/shop/modules/beta/betaapi"

// Linked mentions beta's event: even another surface is out of bounds.
const Linked = betaapi.LinkCreated
