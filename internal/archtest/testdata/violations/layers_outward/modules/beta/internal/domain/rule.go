package domain

import (
	"example.com/shop/modules/beta/internal/app"
	"example.com/shop/modules/beta/internal/ports/http"
)

var _ app.Service
var _ http.Handler
