// Package openapi serves the OpenAPI 3.1 document of the public HTTP API
// (SPEC §4) at GET /api/openapi.json.
//
// The document, openapi.json, is written by hand and embedded in the binary.
// Its test keeps it true: it builds the whole application in process and
// fails when a route is registered but not documented or documented but not
// registered, when an error code a module declares is listed by no response,
// when a route's authentication or roles differ from its security, and when
// real answers (status, content type, body shape, headers) of a walk through
// the API differ from what the document says. When it fails, edit
// openapi.json so that both say the same thing.
package openapi
