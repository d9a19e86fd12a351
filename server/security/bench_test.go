package security

import (
	"context"
	"testing"
	"time"
)

func BenchmarkPasswordVerifyOWASP(b *testing.B) {
	h := NewHasher(DefaultArgon2, 1, time.Minute)
	hash, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := h.Verify(context.Background(), "correct horse battery staple", hash); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
