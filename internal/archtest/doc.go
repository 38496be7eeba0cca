// Package archtest enforces the boundaries between the shop's modules.
//
// The shop is a modular monolith: every module under modules/ runs in one
// process today, but each must stay extractable into its own binary with its
// own database. That only works if nothing but a module's surface package
// (modules/<m>/<m>api: its API interface, DTOs, errors and event types)
// crosses the boundary, and if no module touches another module's tables.
// The Go compiler already refuses imports of another module's internal/
// folder from non-test code in other modules; Check covers the rest:
//
//  1. A package under modules/X may import, of another module Y, only its
//     surface package modules/Y/Yapi: not its wiring modules/Y, not
//     modules/Y/internal/..., not any other sub-package. Nor may it import
//     the registry package modules/ itself. Test files count too.
//  2. A surface package modules/X/Xapi is a leaf: it imports nothing under
//     modules/ (not even another surface), migrations/, cmd/ or web/.
//  3. platform/ imports nothing under modules/, migrations/, cmd/ or web/.
//  4. migrations/X is imported only by modules/X and by the code that
//     assembles every module (cmd/, the registry modules/, repository-wide
//     tests such as internal/...); never by another module, another
//     migrations folder or web/.
//  5. No module's SQL names another module's schema: .sql files under
//     migrations/X and modules/X, and every Go string literal under
//     modules/X that holds an SQL keyword (or is concatenated with one that
//     does), may not contain Y.name or "Y".name for another module Y. SQL in
//     platform/ names no module schema at all: it relies on search_path.
//  6. Every module folder has its surface package and its migrations/<m>
//     folder, and every migrations folder belongs to a module.
//  7. A module's layers depend inwards. Its application and domain layers
//     (modules/X/internal/app and modules/X/internal/domain, and below) do
//     not import, outside their tests, the database driver (pgx) nor the
//     module's own adapters and ports (modules/X/internal/adapters/...,
//     modules/X/internal/ports/...): they own the interfaces of what they
//     store, and the adapters implement them. The domain does not import
//     the application layer either.
//
// The module list is read from the folders under modules/, so a new module
// is covered without touching this package. Check is a plain function over a
// source tree, so the same rules run on the real repository (TestBoundaries)
// and on fixture trees under testdata/ that each cross one boundary on
// purpose (TestCheckerCatchesViolations).
package archtest
