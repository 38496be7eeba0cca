// Package domain holds beta's rules; it imports no other layer.
package domain

// Link is an entity.
type Link struct{}
