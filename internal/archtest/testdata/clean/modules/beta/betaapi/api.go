// Package betaapi is beta's surface.
package betaapi

// LinkCreated is an event type.
const LinkCreated = "beta.link_created"
