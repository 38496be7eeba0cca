// Package web serves the UI.
package web
