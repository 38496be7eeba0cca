package devpg

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// programs are the server programs Start needs. They must sit in one
// directory, because initdb and pg_ctl look for postgres next to themselves.
var programs = []string{"initdb", "pg_ctl", "postgres"}

// errNoBinaries says how to get the server programs, because the person who
// sees it has just run the app for the first time and wants it to work.
var errNoBinaries = errors.New("devpg: DATABASE_URL is empty and no PostgreSQL server programs " +
	"(initdb, pg_ctl, postgres) were found on PATH or in /usr/lib/postgresql/*/bin, " +
	"/usr/local/pgsql/bin or Homebrew's directories; install them " +
	"(Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16) " +
	"or set DATABASE_URL to an existing database")

// searchDirs lists the directories to look for the server programs in, in
// order: PATH first, so a developer can choose, then the places where
// packages put them without adding them to PATH (Debian does not).
func searchDirs() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		// Relative entries (including "", the current directory) would
		// change meaning once the programs run in another directory.
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	dirs = append(dirs, versioned("/usr/lib/postgresql/", "/bin")...)
	dirs = append(dirs, "/usr/local/pgsql/bin")
	dirs = append(dirs, versioned("/opt/homebrew/opt/postgresql@", "/bin")...)
	dirs = append(dirs, versioned("/usr/local/opt/postgresql@", "/bin")...)
	return append(dirs, "/opt/homebrew/bin", "/usr/local/bin")
}

// versioned lists the existing directories prefix+VERSION+suffix, highest
// version first.
func versioned(prefix, suffix string) []string {
	matches, _ := filepath.Glob(prefix + "*" + suffix)
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(dir, prefix), suffix), 64)
		if err != nil {
			return -1
		}
		return v
	}
	slices.SortStableFunc(matches, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	return matches
}

// findBinDir returns the first of dirs that holds all the server programs.
func findBinDir(dirs []string) (string, error) {
	for _, d := range dirs {
		if hasPrograms(d) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func hasPrograms(dir string) bool {
	for _, p := range programs {
		fi, err := os.Stat(filepath.Join(dir, p)) // follows symlinks, as Homebrew's bin is made of them
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// majorVersion extracts the major version from the output of
// "postgres --version", e.g. "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)",
// in the form a data directory's PG_VERSION file uses: "15", or "9.6" before
// version 10.
func majorVersion(out string) (string, error) {
	_, rest, ok := strings.Cut(out, "(PostgreSQL) ")
	if end := strings.IndexFunc(rest, func(r rune) bool { return r != '.' && !unicode.IsDigit(r) }); end >= 0 {
		rest = rest[:end] // drop suffixes such as "devel" or "beta1"
	}
	parts := strings.Split(rest, ".")
	first, err := strconv.Atoi(parts[0])
	if !ok || err != nil {
		return "", fmt.Errorf("devpg: cannot read the version in %q", strings.TrimSpace(out))
	}
	if first < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1], nil
	}
	return parts[0], nil
}
