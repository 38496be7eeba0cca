package devpg

// Seams for the external tests: where the server programs are looked for.
var (
	FindBinDir = findBinDir
	SearchDirs = searchDirs
)
