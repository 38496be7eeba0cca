// Package modules lists the bounded contexts linked into this binary. Only
// the application's main and the extraction tool import it; a module never
// does.
//
// Each module registers itself from its own file, <module>_module.go, which
// carries the build constraint
//
//	//go:build !extract || extract_<module>
//
// so a plain build links every module (the monolith), while a build with the
// tags extract,extract_<module> links that module alone and reaches the
// others through their surface packages (an extracted binary, built by
// `extract build <module>`). Tags extract,extract_a,extract_b link a and b;
// the tag extract alone links no module at all (a pure gateway).
package modules

import (
	"fmt"
	"slices"

	"github.com/modmono/shop/internal/surfaces"
	"github.com/modmono/shop/platform/modkit"
)

// All lists the modules linked into this binary in start-up order, the
// order of internal/surfaces.All: a module comes after the ones whose API it
// calls. It is complete once package initialisation is over.
var All []modkit.Definition

// Names returns the names of the linked modules in start-up order.
func Names() []string {
	names := make([]string, len(All))
	for i, m := range All {
		names[i] = m.Name
	}
	return names
}

// register adds a linked module to All at its start-up position. The
// <module>_module.go files call it from init, which Go runs in file name
// order; the position comes from internal/surfaces instead.
func register(d modkit.Definition) {
	order := surfaces.Names()
	rank := slices.Index(order, d.Name)
	if rank < 0 {
		panic(fmt.Sprintf("modules: module %q has no entry in internal/surfaces.All, which fixes the start-up order", d.Name))
	}
	if slices.ContainsFunc(All, func(m modkit.Definition) bool { return m.Name == d.Name }) {
		panic(fmt.Sprintf("modules: module %q registered twice", d.Name))
	}
	at, _ := slices.BinarySearchFunc(All, rank, func(m modkit.Definition, r int) int {
		return slices.Index(order, m.Name) - r
	})
	All = slices.Insert(All, at, d)
}
