package modules_test

// The isolation test names every schema on purpose: it proves each module's
// role is denied the others'.
var probes = []string{
	"SELECT 1 FROM alpha.items",
	"SELECT 1 FROM beta.links",
}
