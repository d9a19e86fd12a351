package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelease_NoticesClassifyAndRefuse: the licence texts the release meets
// are recognised, and a component under a copyleft licence, an unknown one
// or none at all stops the release.
func TestRelease_NoticesClassifyAndRefuse(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"Permission is hereby granted, free of charge, to any person obtaining a copy":                                                                                     "MIT",
		"Redistribution and use in source and binary forms, with or without\n modification, are permitted":                                                                 "BSD-2-Clause",
		"Redistribution and use in source and binary forms ... may be used to endorse or promote products derived":                                                         "BSD-3-Clause",
		"                                 Apache License\n                           Version 2.0, January 2004":                                                            "Apache-2.0",
		"Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice": "ISC",
		"Mozilla Public License Version 2.0":                   "MPL-2.0",
		"GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007": "GPL",
		"GNU AFFERO GENERAL PUBLIC LICENSE":                    "AGPL",
		"GNU LESSER GENERAL PUBLIC LICENSE":                    "LGPL",
		"All rights reserved. Do not copy.":                    "",
	} {
		if got := Classify(text); got != want {
			t.Errorf("Classify(%.40q) = %q, want %q", text, got, want)
		}
	}

	ok := []Component{{Kind: "Go module", Name: "a", Version: "v1", License: "MIT", Texts: []Text{{File: "LICENSE", Body: "mit text"}}}}
	if err := check(ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Component{
		{Kind: "Go module", Name: "gpl", Version: "v1", License: "GPL", Texts: []Text{{File: "COPYING", Body: "gpl"}}},
		{Kind: "npm package", Name: "odd", Version: "1.0.0", Texts: []Text{{File: "LICENSE", Body: "All rights reserved."}}},
		{Kind: "npm package", Name: "none", Version: "1.0.0"},
	} {
		err := check(append(ok, c))
		if err == nil || !strings.Contains(err.Error(), c.Name+" ") {
			t.Errorf("%s: check said %v", c.Name, err)
		}
	}

	// A package without a licence file but with an allowed package.json
	// licence is shipped with a note; the same text twice is printed once.
	root := t.TempDir()
	for _, p := range []struct{ dir, pkg, lic string }{
		{"node_modules/a", `{"name":"a","version":"1.0.0","license":"MIT"}`, "Permission is hereby granted, free of charge, x"},
		{"node_modules/@s/b", `{"name":"@s/b","version":"2.0.0","license":"MIT"}`, "Permission is hereby granted, free of charge, x"},
		{"node_modules/c", `{"name":"c","version":"3.0.0","license":"MIT"}`, ""},
	} {
		d := filepath.Join(root, p.dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(d, "package.json"), []byte(p.pkg), 0o644)
		if p.lic != "" {
			_ = os.WriteFile(filepath.Join(d, "LICENSE"), []byte(p.lic), 0o644)
		}
	}
	list := filepath.Join(root, "bundled-packages.json")
	_ = os.WriteFile(list, []byte(`[{"name":"a","version":"1.0.0","dir":"node_modules/a"},{"name":"@s/b","version":"2.0.0","dir":"node_modules/@s/b"},{"name":"c","version":"3.0.0","dir":"node_modules/c"}]`), 0o644)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	comps, err := collect(exe, list, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(comps); err != nil {
		t.Fatal(err)
	}
	out := string(render(comps))
	for _, want := range []string{"LICENSE of @s/b 2.0.0, a 1.0.0\n", "package.json of c 3.0.0\n", "its package.json says MIT", "Go standard library"} {
		if !strings.Contains(out, want) {
			t.Errorf("notices lack %q:\n%s", want, out)
		}
	}
}
