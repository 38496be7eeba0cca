package pg

// Links is an adapter.
type Links struct{}
