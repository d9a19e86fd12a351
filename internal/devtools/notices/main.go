// Command notices writes THIRD_PARTY_NOTICES for a release binary: the
// licence of every Go module linked into it (read from the binary's build
// information, the texts from the module cache), of the Go standard
// library, and of every npm package whose code is in the embedded console
// (frontend/dist/bundled-packages.json, written by the console build). It
// fails when a component's licence is not one of the permissive ones that
// Gatehouse's Apache-2.0 licence can carry (MIT, BSD, ISC, Apache-2.0,
// MPL-2.0, 0BSD, Unlicense), or when no licence can be found, so that a new
// dependency with a copyleft or unknown licence stops the release.
// scripts/release.sh runs it for each target.
//
//	go run ./internal/devtools/notices -binary dist/gatehouse -console frontend/dist/bundled-packages.json -o THIRD_PARTY_NOTICES.txt
package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

func main() {
	bin := flag.String("binary", "", "the built binary (its module list)")
	console := flag.String("console", "frontend/dist/bundled-packages.json", "the console build's package list")
	root := flag.String("root", ".", "repository root (node_modules is read from here)")
	out := flag.String("o", "", "file to write")
	flag.Parse()
	if *bin == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: notices -binary FILE [-console FILE] -o FILE")
		os.Exit(2)
	}
	comps, err := collect(*bin, *console, *root)
	if err == nil {
		err = check(comps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, render(comps), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
}

// Component is one third-party part of the release and its licence.
type Component struct {
	Kind    string // "Go module", "Go standard library", "npm package"
	Name    string
	Version string
	License string // SPDX identifier, "" when unknown
	Texts   []Text
	Note    string
}

// Text is one licence or notice file.
type Text struct {
	File string
	Body string
}

// Allowed are the licences that an Apache-2.0 binary may include: the
// permissive ones, and MPL-2.0 (file-level; its source stays available
// where the notice says).
var Allowed = map[string]bool{
	"MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true, "ISC": true, "Apache-2.0": true,
	"MPL-2.0": true, "0BSD": true, "Unlicense": true, "CC0-1.0": true,
}

var licenseFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|unlicense)([-._].*)?$`)

func collect(bin, console, root string) ([]Component, error) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	modcache, goroot, err := goEnv()
	if err != nil {
		return nil, err
	}
	var comps []Component
	std := Component{Kind: "Go standard library", Name: "Go", Version: info.GoVersion}
	if b, err := os.ReadFile(filepath.Join(goroot, "LICENSE")); err == nil {
		std.Texts = []Text{{File: "LICENSE", Body: string(b)}}
		std.License = Classify(string(b))
	}
	comps = append(comps, std)
	for _, d := range info.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		dir := filepath.Join(modcache, escape(m.Path)+"@"+m.Version)
		c := Component{Kind: "Go module", Name: m.Path, Version: m.Version}
		c.Texts, c.License = readTexts(dir)
		comps = append(comps, c)
	}
	if console != "" {
		b, err := os.ReadFile(console)
		if err != nil {
			return nil, fmt.Errorf("the console's package list: %w (build the console first)", err)
		}
		var pkgs []struct{ Name, Version, Dir string }
		if err := json.Unmarshal(b, &pkgs); err != nil {
			return nil, fmt.Errorf("%s: %w", console, err)
		}
		for _, p := range pkgs {
			dir := filepath.Join(root, filepath.FromSlash(p.Dir))
			c := Component{Kind: "npm package", Name: p.Name, Version: p.Version}
			c.Texts, c.License = readTexts(dir)
			var pj struct {
				License string `json:"license"`
			}
			if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
				_ = json.Unmarshal(b, &pj)
			}
			if len(c.Texts) == 0 && Allowed[pj.License] {
				// A few packages publish no licence file; their package.json
				// names the licence.
				c.License = pj.License
				c.Note = "The package publishes no licence file; its package.json says " + pj.License + "."
			}
			comps = append(comps, c)
		}
	}
	return comps, nil
}

// readTexts reads the licence and notice files at the top of dir and
// classifies the first licence file.
func readTexts(dir string) ([]Text, string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	var texts []Text
	spdx := ""
	for _, e := range entries {
		if e.IsDir() || !licenseFile.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		texts = append(texts, Text{File: e.Name(), Body: string(b)})
		if spdx == "" && !strings.HasPrefix(strings.ToLower(e.Name()), "notice") {
			spdx = Classify(string(b))
		}
	}
	return texts, spdx
}

// Classify names the licence of a licence text by its operative words
// ("" when it is none it knows).
func Classify(text string) string {
	// Words only: comment marks that begin lines ("//", " *", "#") go.
	var words []string
	for _, f := range strings.Fields(strings.ToLower(text)) {
		if strings.Trim(f, "/*#") != "" {
			words = append(words, f)
		}
	}
	t := strings.Join(words, " ")
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case has("gnu affero general public license"):
		return "AGPL"
	case has("gnu lesser general public license"), has("gnu library general public license"):
		return "LGPL"
	case has("gnu general public license"):
		return "GPL"
	case has("apache license") && has("version 2.0"):
		return "Apache-2.0"
	case has("mozilla public license") && has("2.0"):
		return "MPL-2.0"
	case has("permission is hereby granted, free of charge"):
		return "MIT"
	case has("redistribution and use in source and binary forms"):
		if has("endorse or promote products") {
			return "BSD-3-Clause"
		}
		return "BSD-2-Clause"
	case has("permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted"),
		has("permission to use, copy, modify, and distribute this software for any purpose with or without fee is hereby granted"):
		if has("provided that the above copyright notice") {
			return "ISC"
		}
		return "0BSD"
	case has("this is free and unencumbered software released into the public domain"):
		return "Unlicense"
	}
	return ""
}

// check refuses components without an allowed licence.
func check(comps []Component) error {
	var bad []string
	for _, c := range comps {
		switch {
		case c.License == "" && len(c.Texts) == 0:
			bad = append(bad, fmt.Sprintf("%s %s %s: no licence found", c.Kind, c.Name, c.Version))
		case c.License == "":
			bad = append(bad, fmt.Sprintf("%s %s %s: licence in %s not recognised", c.Kind, c.Name, c.Version, c.Texts[0].File))
		case !Allowed[c.License]:
			bad = append(bad, fmt.Sprintf("%s %s %s: %s cannot be shipped inside Apache-2.0 Gatehouse", c.Kind, c.Name, c.Version, c.License))
		}
	}
	if len(bad) > 0 {
		return errors.New("licences to review:\n  " + strings.Join(bad, "\n  "))
	}
	return nil
}

// render writes the summary table and then each distinct text once, with
// the components it belongs to.
func render(comps []Component) []byte {
	var b bytes.Buffer
	b.WriteString("Third-party software in this Gatehouse release\n" +
		"==============================================\n\n" +
		"Gatehouse is licensed under the Apache License 2.0 (LICENSE). The binary also contains\n" +
		"the software below, each under its own licence, whose texts and notices follow.\n" +
		"Go modules are listed from the binary's build information; npm packages are those\n" +
		"whose code is in the embedded console. Sources: https://pkg.go.dev/<module>@<version>\n" +
		"and https://www.npmjs.com/package/<package>/v/<version>.\n\n")
	w := 0
	for _, c := range comps {
		w = max(w, len(c.Name)+1+len(c.Version))
	}
	for _, c := range comps {
		fmt.Fprintf(&b, "  %-*s  %-12s  %s\n", w, c.Name+" "+c.Version, c.License, c.Kind)
	}
	type group struct {
		names []string
		text  Text
	}
	var order []string
	groups := map[string]*group{}
	for _, c := range comps {
		if c.Note != "" {
			sum := "note:" + c.Name
			order = append(order, sum)
			groups[sum] = &group{names: []string{c.Name + " " + c.Version}, text: Text{File: "package.json", Body: c.Note + "\n"}}
		}
		for _, t := range c.Texts {
			h := sha256.Sum256([]byte(strings.TrimSpace(t.Body)))
			sum := string(h[:])
			if g, ok := groups[sum]; ok {
				g.names = append(g.names, c.Name+" "+c.Version)
				continue
			}
			order = append(order, sum)
			groups[sum] = &group{names: []string{c.Name + " " + c.Version}, text: t}
		}
	}
	for _, sum := range order {
		g := groups[sum]
		sort.Strings(g.names)
		b.WriteString("\n\n" + strings.Repeat("-", 78) + "\n")
		fmt.Fprintf(&b, "%s of %s\n", g.text.File, strings.Join(g.names, ", "))
		b.WriteString(strings.Repeat("-", 78) + "\n\n")
		b.WriteString(strings.TrimRight(g.text.Body, "\n") + "\n")
	}
	return b.Bytes()
}

func goEnv() (modcache, goroot string, err error) {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	out, err := exec.Command(goBin, "env", "GOMODCACHE", "GOROOT").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", "", fmt.Errorf("go env answered %q", out)
	}
	return lines[0], lines[1], nil
}

// escape is the module cache's case encoding: an upper-case letter becomes
// '!' and the letter in lower case.
func escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
