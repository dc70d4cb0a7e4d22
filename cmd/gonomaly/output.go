package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// pendingFile is an output file written to a temporary file beside it and renamed over it
// only when the run succeeds (commit), so a run that fails leaves the file it would have
// replaced as it was. Abort (or a deferred abort after commit, a no-op) removes the
// temporary file.
type pendingFile struct {
	*os.File
	path string // where commit puts the file
	mode fs.FileMode
	done bool
}

// createPending opens a temporary file in the directory of path. The file committed keeps
// the permissions of the file it replaces, or gets 0644. A symbolic link at path is
// followed, so the file it points to is replaced and the link kept.
func createPending(path string) (*pendingFile, error) {
	mode := fs.FileMode(0o644)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			if path, err = filepath.EvalSymlinks(path); err != nil {
				return nil, err
			}
			if fi, err = os.Stat(path); err != nil {
				return nil, err
			}
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", path)
		}
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &pendingFile{File: f, path: path, mode: mode}, nil
}

// commit closes the temporary file and renames it over the destination.
func (p *pendingFile) commit() error {
	if p.done {
		return errors.New("output file already committed or aborted")
	}
	p.done = true
	tmp := p.Name()
	err := p.Chmod(p.mode)
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// abort closes and removes the temporary file; after commit it does nothing.
func (p *pendingFile) abort() {
	if p.done {
		return
	}
	p.done = true
	p.Close()
	os.Remove(p.Name())
}

// writeFileAtomic writes b to path through a pendingFile.
func writeFileAtomic(path string, b []byte) error {
	p, err := createPending(path)
	if err != nil {
		return err
	}
	defer p.abort()
	if _, err := p.Write(b); err != nil {
		return err
	}
	return p.commit()
}

// writeJSON writes v as one line of JSON. A value JSON cannot hold (NaN or an infinity) is an
// error naming it, and nothing is written: no half document on stdout.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		if uv, ok := errors.AsType[*json.UnsupportedValueError](err); ok {
			return fmt.Errorf("the result holds %s, which JSON cannot represent (scores or statistics that are not finite): %w", uv.Str, err)
		}
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
