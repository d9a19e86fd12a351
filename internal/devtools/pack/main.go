// Command pack writes a release archive that is the same bytes on every
// build of one commit: entries sorted by name under one top directory,
// every time set to SOURCE_DATE_EPOCH, owner 0, modes 0755 (executables)
// or 0644, gzip without a name or time. `make release` uses it.
//
//	go run ./internal/devtools/pack -o gatehouse-v1-linux-amd64.tar.gz DIR
//	go run ./internal/devtools/pack -o gatehouse-v1-windows-amd64.zip DIR
//	go run ./internal/devtools/pack -l gatehouse-v1-windows-amd64.zip   (lists the entries)
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("o", "", "archive to write (.tar.gz or .zip)")
	ls := flag.String("l", "", "archive whose entries to print, one a line (scripts/release-check.sh)")
	flag.Parse()
	if *ls != "" {
		names, err := entries(*ls)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pack:", err)
			os.Exit(1)
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pack -o FILE.tar.gz|FILE.zip DIR")
		os.Exit(2)
	}
	mtime, err := sourceDate()
	if err == nil {
		err = pack(*out, flag.Arg(0), mtime)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, errors.New("SOURCE_DATE_EPOCH is not set")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
	}
	return time.Unix(n, 0).UTC(), nil
}

type entry struct {
	name string // slash-separated, under the top directory
	path string // on disk; "" for a directory
	mode int64
}

// list walks dir; the archive's top directory is dir's base name.
func list(dir string) ([]entry, error) {
	top := filepath.Base(filepath.Clean(dir))
	var out []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := top
		if rel != "." {
			name = top + "/" + filepath.ToSlash(rel)
		}
		if d.IsDir() {
			out = append(out, entry{name: name + "/", mode: 0o755})
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if info.Mode()&0o111 != 0 || strings.HasSuffix(name, ".exe") {
			mode = 0o755
		}
		out = append(out, entry{name: name, path: p, mode: mode})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, err
}

func pack(out, dir string, mtime time.Time) error {
	entries, err := list(dir)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if strings.HasSuffix(out, ".zip") {
		err = writeZip(f, entries, mtime)
	} else {
		err = writeTarGz(f, entries, mtime)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return err
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// gzip.Header stays zero: no file name, no time.
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		if e.path == "" {
			h.Typeflag = tar.TypeDir
		} else {
			st, err := os.Stat(e.path)
			if err != nil {
				return err
			}
			h.Typeflag = tar.TypeReg
			h.Size = st.Size()
		}
		// PAX would add access and change times; USTAR has none.
		h.Format = tar.FormatUSTAR
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if e.path != "" {
			if err := copyFile(tw, e.path); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Modified: mtime, Method: zip.Deflate}
		h.SetMode(fs.FileMode(e.mode))
		if e.path == "" {
			h.Method = zip.Store
			h.SetMode(fs.ModeDir | 0o755)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if e.path != "" {
			if err := copyFile(fw, e.path); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// entries lists the names in a .tar.gz or .zip archive.
func entries(path string) ([]string, error) {
	var names []string
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		return names, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names = append(names, h.Name)
	}
}
