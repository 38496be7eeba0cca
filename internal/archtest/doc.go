// Package archtest enforces the boundaries between the shop's modules.
//
// The shop is a modular monolith: every module under modules/ runs in one
// process today, but each must stay extractable into its own binary with its
// own database. That only works if nothing but a module's surface package
// (modules/<m>/<m>api: its API interface, DTOs, errors and event types)
// crosses the boundary, and if no module reads another module's tables. The
// Go compiler already refuses imports of another module's internal/ folder;
// the checks here cover everything else: imports of another module's wiring
// or other sub-packages (test files included), surface packages that are not
// leaves, platform code that depends on modules, migrations imported by the
// wrong module, SQL that names another module's schema, and modules missing
// their surface package or their migrations.
//
// Check is a plain function over a source tree, so the same rules run on the
// real repository (TestBoundaries) and on fixture trees under testdata/ that
// each cross one boundary on purpose (TestCheckerCatchesViolations). The
// module list is read from the folders under modules/, so a new module is
// covered without touching this package.
package archtest
