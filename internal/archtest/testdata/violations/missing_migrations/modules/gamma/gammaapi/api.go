// Package gammaapi is gamma's surface.
package gammaapi
