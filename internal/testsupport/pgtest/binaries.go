package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// minMajor is the oldest PostgreSQL the cluster engine is built for
// (Debian 12's); pgtest itself needs 13 (DROP DATABASE … WITH (FORCE)).
const minMajor = 15

// debianBinGlob is where Debian's postgresql-NN packages put the server
// programs, one folder per major version (/usr/lib/postgresql/15/bin).
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// binaries are the server programs of one PostgreSQL installation.
type binaries struct {
	postgres, initdb string
	// version is what `postgres --version` prints, such as
	// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)".
	version string
	major   int
}

// findBinaries finds the server programs of the highest major version
// ≥ minMajor in the folders matching glob (debianBinGlob), or else in
// PATH.
func findBinaries(glob string) (binaries, error) {
	var best binaries
	dirs, err := filepath.Glob(glob)
	if err != nil {
		return binaries{}, fmt.Errorf("find PostgreSQL: %w", err)
	}
	for _, dir := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil || major < minMajor || major <= best.major {
			continue
		}
		b := binaries{postgres: filepath.Join(dir, "postgres"), initdb: filepath.Join(dir, "initdb"), major: major}
		if isExecutable(b.postgres) && isExecutable(b.initdb) {
			best = b
		}
	}
	if best.postgres == "" {
		postgres, err := exec.LookPath("postgres")
		if err != nil {
			return binaries{}, fmt.Errorf("%w under %s or in PATH; install them with\n\t%s", ErrNotInstalled, glob, InstallHint)
		}
		initdb := filepath.Join(filepath.Dir(postgres), "initdb")
		if !isExecutable(initdb) {
			if initdb, err = exec.LookPath("initdb"); err != nil {
				return binaries{}, fmt.Errorf("%w: %s is in PATH but initdb is not; install them with\n\t%s", ErrNotInstalled, postgres, InstallHint)
			}
		}
		best = binaries{postgres: postgres, initdb: initdb}
	}
	out, err := exec.Command(best.postgres, "--version").Output()
	if err != nil {
		return binaries{}, fmt.Errorf("%s --version: %w", best.postgres, err)
	}
	best.version = strings.TrimSpace(string(out))
	major, err := parseMajor(best.version)
	if err != nil {
		return binaries{}, fmt.Errorf("%s --version: %w", best.postgres, err)
	}
	if major < minMajor {
		return binaries{}, fmt.Errorf("%w: %s is %q; install a newer one with\n\t%s", ErrNotInstalled, best.postgres, best.version, InstallHint)
	}
	best.major = major
	return best, nil
}

// versionRE matches the version in `postgres --version`'s output, such
// as "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" or
// "postgres (PostgreSQL) 17beta1".
var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

func parseMajor(version string) (int, error) {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return 0, fmt.Errorf("no version in %q", version)
	}
	return strconv.Atoi(m[1])
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
