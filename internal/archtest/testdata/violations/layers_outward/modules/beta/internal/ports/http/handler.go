package http

// Handler is a port.
type Handler struct{}
