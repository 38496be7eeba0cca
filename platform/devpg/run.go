package devpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runner runs the programs of one PostgreSQL installation. When this process
// is root it runs them as the postgres system user, because initdb, pg_ctl
// and postgres refuse to run as root.
type runner struct {
	binDir string
	cwd    string              // the data directory's parent: the postgres user may not be allowed into ours
	env    []string            // ours, with HOME set to the postgres user's home when root
	cred   *syscall.Credential // nil: run as ourselves
}

// newRunner prepares to run the programs in binDir for the data directory dir
// (an absolute path whose parent exists).
func newRunner(binDir, dir string) (runner, error) {
	r := runner{binDir: binDir, cwd: filepath.Dir(dir), env: os.Environ()}
	if os.Geteuid() != 0 {
		return r, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runner{}, fmt.Errorf("devpg: this process runs as root, which PostgreSQL refuses, "+
			"and there is no \"postgres\" system user to run it as instead (%v); "+
			"install PostgreSQL from your distribution's package (it creates that user), "+
			"run the app as another user, or set DATABASE_URL", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return runner{}, fmt.Errorf("devpg: postgres user: %w", err)
	}
	// With no Groups the child keeps no supplementary groups, so the
	// traversal check below needs to consider only the primary group.
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	r.env = append(r.env, "HOME="+u.HomeDir) // the last value of a key wins
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := r.checkTraversable(p); err != nil {
			return runner{}, err
		}
		if p == filepath.Dir(p) {
			return r, nil
		}
	}
}

// checkTraversable returns an error naming dir if the postgres user may not
// pass through it. It never changes permissions: opening up a directory
// above the project is the developer's decision, not ours.
func (r runner) checkTraversable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil // cannot tell; let PostgreSQL report it
	}
	perm := fi.Mode().Perm()
	var can bool
	switch {
	case st.Uid == r.cred.Uid:
		can = perm&0o100 != 0
	case st.Gid == r.cred.Gid:
		can = perm&0o010 != 0
	default:
		can = perm&0o001 != 0
	}
	if !can {
		return fmt.Errorf("devpg: this process runs as root, so PostgreSQL runs as the postgres user, "+
			"which cannot enter directory %s (mode %04o, owner %d:%d) on the way to the data directory; "+
			"allow it (chmod o+x %s) or choose a data directory elsewhere", dir, perm, st.Uid, st.Gid, dir)
	}
	return nil
}

// makeDataDir creates the data directory dir, owned by the user the server
// runs as, so initdb (not running as us when we are root) can fill it.
func (r runner) makeDataDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("devpg: %w", err)
	}
	return r.chown(dir)
}

// makeLogFile creates the server's log file, owned by the user the server
// runs as: pg_ctl opens it as that user, who may not write to its directory.
func (r runner) makeLogFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	return r.chown(path)
}

func (r runner) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	return nil
}

// run runs program prog with args, killing it after timeout. The error
// includes the program's output, which is where its reason is.
func (r runner) run(ctx context.Context, timeout time.Duration, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, prog), args...)
	cmd.Dir = r.cwd
	cmd.Env = r.env
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	// pg_ctl start leaves the server running; should the server ever hold
	// on to our output pipe, do not wait for it to exit.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("devpg: %s %s: %w\n%s", prog, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}
