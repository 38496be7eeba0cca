// Package cache is a helper of beta's app: a sibling the app may import.
package cache

// Links caches links.
type Links struct{}
