package useragent

import (
	"encoding/json"
	"os"
	"testing"
)

// TestUserAgent_SharedVectors reads the vectors the console's
// describeUserAgent is tested with too, so that the device an alert
// names and the one the console shows cannot drift apart.
func TestUserAgent_SharedVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/agents.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ UA, Browser, OS, Label string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if d := Parse(c.UA); d.Browser != c.Browser || d.OS != c.OS {
			t.Errorf("Parse(%q) = %+v, want %s/%s", c.UA, d, c.Browser, c.OS)
		}
		if got := Describe(c.UA); got != c.Label {
			t.Errorf("Describe(%q) = %q, want %q", c.UA, got, c.Label)
		}
	}
}
