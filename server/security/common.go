package security

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

// common-passwords.txt.gz is the lower-cased set of passwords of 8 or more
// characters from the zxcvbn-ts common list (MIT, see the LICENSE file
// beside it); shorter ones are refused by the minimum length anyway.
//
//go:embed common-passwords.txt.gz
var commonGz []byte

var commonSet = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic(err)
	}
	set := make(map[string]struct{}, 18000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := sc.Text(); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// IsCommonPassword reports whether p (case-insensitively) is on the
// embedded list of commonly used passwords.
func IsCommonPassword(p string) bool {
	_, ok := commonSet()[strings.ToLower(p)]
	return ok
}

// CommonPasswordCount is the size of the embedded list.
func CommonPasswordCount() int { return len(commonSet()) }
