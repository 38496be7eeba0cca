// Package apicontract holds the contract suites of the module interfaces:
// one suite per <module>api.API, run against both the in-process
// implementation and the generated HTTP client (platform/rpc) talking to a
// real server, with the same assertions. A module that passes its suite in
// process behaves the same when it is extracted into its own process.
//
// The tests boot the whole application once, in process, on a fresh
// Postgres database (platform/pgtest) with the gochannel bus, and serve its
// router from an httptest server; the HTTP clients present a service token
// signed with the application's secret. Each check uses data of its own
// (fresh ids, emails, products), so the two transports and the parallel
// checks never see each other's data.
//
// A suite is a list of checks written against the small T interface rather
// than *testing.T, so a check can also be run against a deliberately broken
// client with a recorder in place of the test: TestSuitesBite does that to
// show that the suites notice a wrong answer.
//
// Set APICONTRACT_LOG=debug (or
// info, warn, error) to see the application's logs.
package apicontract
