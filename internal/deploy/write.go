package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes files under dir, creating folders as needed. It first checks
// that no file it would replace was written by someone else (a file that
// does not start with GeneratedMarker) and then changes nothing if one was.
// Each file is written to a temporary name and renamed into place, so a
// reader never sees half a file. Files already in dir that are not in files
// are left alone.
func Write(dir string, files Files) error {
	for _, p := range files.Paths() {
		name := filepath.Join(dir, filepath.FromSlash(p))
		old, err := os.ReadFile(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !bytes.HasPrefix(old, []byte(GeneratedMarker)):
			return fmt.Errorf("%s exists and was not written by extract deploy: not replacing it (choose another folder with -o)", name)
		}
	}
	for _, p := range files.Paths() {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(files[p])
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), name); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}

// BaseFrom returns the path of the repository's deploy/k8s/base relative to
// dir (slash-separated, as kustomize wants it), given the repository root.
// Both may be relative to the working directory. dir may be anywhere on the
// same file system, except inside the base itself.
func BaseFrom(root, dir string) (string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	base := filepath.Join(absRoot, filepath.FromSlash(BaseDir))
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s is not a folder: the overlay is built over the repository's kustomize base", base)
	}
	rel, err := filepath.Rel(absDir, base)
	if err != nil {
		return "", fmt.Errorf("cannot reach %s from %s by a relative path: %w", base, absDir, err)
	}
	if in, err := filepath.Rel(base, absDir); err == nil && !startsWithDotDot(in) {
		return "", fmt.Errorf("%s is inside %s: write the overlay somewhere else", absDir, base)
	}
	return filepath.ToSlash(rel), nil
}

func startsWithDotDot(rel string) bool {
	return rel == ".." || len(rel) > 3 && rel[:3] == ".."+string(filepath.Separator)
}
