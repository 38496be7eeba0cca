package app

// Service is the app.
type Service struct{}
