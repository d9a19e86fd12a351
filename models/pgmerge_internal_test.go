package models

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeKeyed: the walk's matches (every match of the candidate
// segments, in order, cut at take) merged with the public-ID matches found
// apart (some of them in candidate segments, so in both) are the first
// matches of all in order: every one up to the walk's last when the walk
// was cut (at least take of them), else all of them. Random sets, both
// directions.
func TestMergeKeyed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		desc := round%2 == 1
		less := func(a, b pgKeyed) int {
			if a.before(b, desc) {
				return -1
			}
			if b.before(a, desc) {
				return 1
			}
			return 0
		}
		n := r.IntN(40)
		var all, cand, extra []pgKeyed
		for i := range n {
			k := pgKeyed{Name: fmt.Sprintf("n%02d", r.IntN(15)), ID: int64(i + 1)}
			all = append(all, k)
			inCand := r.IntN(3) > 0
			public := !inCand || r.IntN(4) == 0
			if inCand {
				cand = append(cand, k)
			}
			if public {
				extra = append(extra, k)
			}
		}
		slices.SortFunc(all, less)
		slices.SortFunc(cand, less)
		slices.SortFunc(extra, less)
		take := 1 + r.IntN(30)
		walk := cand[:min(len(cand), take)]
		cut := len(walk) >= take
		got := mergeKeyed(slices.Clone(walk), extra, cut, desc)
		want := all
		if cut {
			last := walk[len(walk)-1]
			want = slices.DeleteFunc(slices.Clone(all), func(k pgKeyed) bool { return last.before(k, desc) })
			if len(got) < take {
				t.Fatalf("round %d: %d merged, want at least %d", round, len(got), take)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (desc %v, take %d, cut %v):\n walk  %v\n extra %v\n got   %v\n want  %v", round, desc, take, cut, walk, extra, got, want)
		}
	}
}
