package multiinstance_test

import (
	"fmt"
	"net/http"
	"testing"
)

// Several `serve` started at the same instant on an empty database, again
// and again: each round every instance migrates or waits for the one that
// does, listens, and answers /api/ready. The issue saw 2 of 5 concurrent
// starts exit 1 with a raw SQL error (the migration lock taken without
// waiting); one pair of starts per cluster (NewCluster) was too few rounds
// to show a race that loses some of the time.
func TestMultiInstance_StartTogetherRounds(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprintf("round%d", round+1), func(t *testing.T) {
			// NewCluster fails the test when any instance exits before it
			// listens.
			c := NewCluster(t, Options{Instances: 3})
			for i, inst := range c.Instances() {
				res, err := http.Get(inst.Base + "/api/ready")
				if err != nil {
					t.Fatalf("instance %d: %v", i+1, err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("instance %d: /api/ready %d", i+1, res.StatusCode)
				}
			}
			for _, inst := range c.Instances() {
				inst.Stop()
			}
		})
	}
}
