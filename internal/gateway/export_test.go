package gateway

// MountWithTimeout is Mount with another call timeout, so tests of slow
// modules need not wait CallTimeout.
var MountWithTimeout = mount
