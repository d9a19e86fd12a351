package security

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// cheap keeps the round-trip tests fast; DefaultArgon2 is checked on its own.
var cheap = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// long128 is exactly 128 characters with multi-byte runes and spaces,
// starting and ending with a space.
var long128 = string([]rune(strings.Repeat(" pâss wörd 密码", 10))[:127]) + " "

func TestDefaultArgon2Parameters(t *testing.T) {
	t.Parallel()
	want := Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if DefaultArgon2 != want {
		t.Fatalf("DefaultArgon2 = %+v, want %+v", DefaultArgon2, want)
	}
	h := NewHasher(DefaultArgon2, 1, time.Second)
	hash, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the PHC parameters m=19456,t=2,p=1", hash)
	}
	ok, err := h.Verify(context.Background(), "correct horse battery staple", hash)
	if err != nil || !ok {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	if h.NeedsRehash(hash) {
		t.Fatal("a fresh default hash needs a rehash")
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	if n := len([]rune(long128)); n != 128 {
		t.Fatalf("fixture has %d runes", n)
	}
	h := NewHasher(cheap, 2, time.Second)
	ctx := context.Background()
	cases := []struct {
		name     string
		password string
		wrong    []string
	}{
		{"ascii", "Test-Passphrase-91!", []string{"test-passphrase-91!", "Test-Passphrase-91", "Test-Passphrase-91! "}},
		{"128 unicode runes with spaces", long128, []string{
			string([]rune(long128)[:127]), // nothing may be truncated
			long128[:len(long128)-1],
			strings.TrimSpace(long128),
			strings.ReplaceAll(long128, " ", ""),
		}},
		{"leading and trailing space", "  spaces around  ", []string{"spaces around", "  spaces around "}},
		{"emoji", "🔑🔑🔑 key ring 🔑🔑🔑", []string{"🔑🔑🔑 key ring 🔑🔑"}},
		{"accents still count", "caf\u00e9-au-lait-12", []string{"cafe-au-lait-12", "caf\u00e8-au-lait-12"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hash, err := h.Hash(ctx, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("hash %q does not record its parameters", hash)
			}
			if strings.Contains(hash, tc.password) {
				t.Fatal("the hash contains the password")
			}
			ok, err := h.Verify(ctx, tc.password, hash)
			if err != nil || !ok {
				t.Fatalf("right password: %v, %v", ok, err)
			}
			for _, w := range tc.wrong {
				if w == tc.password {
					t.Fatalf("fixture: wrong password %q equals the right one", w)
				}
				ok, err := h.Verify(ctx, w, hash)
				if err != nil || ok {
					t.Errorf("wrong password %q: %v, %v", w, ok, err)
				}
			}
			again, err := h.Hash(ctx, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if again == hash {
				t.Fatal("two hashes of one password are equal: the salt is not random")
			}
		})
	}
}

func TestVerifyUsesParametersStoredInTheHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := NewHasher(Argon2Params{MemoryKiB: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 1, time.Second)
	hash, err := old.Hash(ctx, "migrated-password-1")
	if err != nil {
		t.Fatal(err)
	}
	cur := NewHasher(cheap, 1, time.Second)
	ok, err := cur.Verify(ctx, "migrated-password-1", hash)
	if err != nil || !ok {
		t.Fatalf("a hash with other parameters no longer verifies: %v, %v", ok, err)
	}
	if !cur.NeedsRehash(hash) {
		t.Fatal("NeedsRehash is false for a hash with other parameters")
	}
}

func TestVerifyEmptyHashNeverMatches(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheap, 1, time.Second)
	for _, pw := range []string{"", "gatehouse-dummy-password", "anything"} {
		ok, err := h.Verify(context.Background(), pw, "")
		if err != nil || ok {
			t.Errorf("Verify(%q, \"\") = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

// The dummy hash makes an unknown user cost a real verification: it must
// carry the hasher's own parameters and key length.
func TestDummyHashCostsARealVerification(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheap, 1, time.Second)
	p, salt, key, err := decode(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash %q does not decode: %v", h.dummy, err)
	}
	if p.MemoryKiB != cheap.MemoryKiB || p.Time != cheap.Time || p.Threads != cheap.Threads || len(salt) != cheap.SaltLen || uint32(len(key)) != cheap.KeyLen {
		t.Fatalf("dummy hash %q has other parameters than %+v", h.dummy, cheap)
	}
	if h.NeedsRehash(h.dummy) {
		t.Fatal("dummy hash needs a rehash: it would cost less than a current hash")
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheap, 1, time.Second)
	good, err := h.Hash(context.Background(), "some-password-1")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	cases := map[string]string{
		"garbage":           "not a hash",
		"bcrypt":            "$2a$10$abcdefghijklmnopqrstuuJ1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o",
		"argon2i":           strings.Replace(good, "$argon2id$", "$argon2i$", 1),
		"wrong version":     strings.Replace(good, "v=19", "v=16", 1),
		"zero memory":       strings.Join([]string{"", "argon2id", "v=19", "m=0,t=1,p=1", parts[4], parts[5]}, "$"),
		"zero time":         strings.Join([]string{"", "argon2id", "v=19", "m=64,t=0,p=1", parts[4], parts[5]}, "$"),
		"huge memory (DoS)": strings.Join([]string{"", "argon2id", "v=19", "m=4194304,t=1,p=1", parts[4], parts[5]}, "$"),
		"huge time (DoS)":   strings.Join([]string{"", "argon2id", "v=19", "m=64,t=1000,p=1", parts[4], parts[5]}, "$"),
		"bad salt":          strings.Join([]string{"", "argon2id", "v=19", parts[3], "!!!", parts[5]}, "$"),
		"short key":         strings.Join([]string{"", "argon2id", "v=19", parts[3], parts[4], "AAAA"}, "$"),
		"missing part":      strings.Join(parts[:5], "$"),
	}
	for name, enc := range cases {
		ok, err := h.Verify(context.Background(), "some-password-1", enc)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: Verify = %v, %v; want false, ErrMalformedHash", name, ok, err)
		}
		if !h.NeedsRehash(enc) {
			t.Errorf("%s: NeedsRehash is false for a malformed hash", name)
		}
	}
}

// holdAll takes every slot of h so that the next hash must queue.
func holdAll(h *Hasher) (release func()) {
	for i := 0; i < cap(h.slots); i++ {
		h.slots <- struct{}{}
	}
	return func() {
		for i := 0; i < cap(h.slots); i++ {
			<-h.slots
		}
	}
}

func TestHasherBusyAfterMaxWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(cheap, 2, 20*time.Millisecond)
	hash, err := h.Hash(ctx, "queued-password-1")
	if err != nil {
		t.Fatal(err)
	}
	release := holdAll(h)
	if _, err := h.Hash(ctx, "queued-password-1"); !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Hash with every slot taken: %v; want ErrHasherBusy", err)
	}
	if ok, err := h.Verify(ctx, "queued-password-1", hash); ok || !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("Verify with every slot taken: %v, %v; want ErrHasherBusy", ok, err)
	}
	if ok, err := h.Verify(ctx, "x", ""); ok || !errors.Is(err, ErrHasherBusy) {
		t.Fatalf("dummy Verify with every slot taken: %v, %v; want ErrHasherBusy", ok, err)
	}
	release()
	if ok, err := h.Verify(ctx, "queued-password-1", hash); err != nil || !ok {
		t.Fatalf("after release: %v, %v", ok, err)
	}
}

func TestHasherQueuedWorkProceedsWhenASlotFrees(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheap, 1, time.Minute)
	release := holdAll(h)
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "waiting-password")
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("queued hash: %v", err)
	}
}

func TestHasherHonoursContext(t *testing.T) {
	t.Parallel()
	h := NewHasher(cheap, 1, time.Minute)
	release := holdAll(h)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with a cancelled context: %v", err)
	}
}

func TestHasherLimitsConcurrency(t *testing.T) {
	t.Parallel()
	const limit = 3
	h := NewHasher(cheap, limit, time.Minute)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "parallel-password"); err != nil {
				t.Error(err)
			}
			if n := len(h.slots); n > limit {
				t.Errorf("%d hashes ran at once, limit %d", n, limit)
			}
		}()
	}
	wg.Wait()
	if len(h.slots) != 0 {
		t.Fatalf("%d slots still taken after all hashes finished", len(h.slots))
	}
	if cap(NewHasher(cheap, 0, time.Second).slots) < 1 {
		t.Fatal("concurrency 0 gives no slots")
	}
}

func TestCommonPasswords(t *testing.T) {
	t.Parallel()
	if n := CommonPasswordCount(); n < 1000 {
		t.Fatalf("only %d common passwords embedded", n)
	}
	for _, p := range []string{"password123", "PASSWORD123", "Qwertyuiop", "1234567890", "letmein123"} {
		if !IsCommonPassword(p) {
			t.Errorf("%q is not reported as common", p)
		}
	}
	for _, p := range []string{"Test-Passphrase-91!", long128, "vivid-orbit-tangerine-42"} {
		if IsCommonPassword(p) {
			t.Errorf("%q is reported as common", p)
		}
	}
}

// Passwords are NFKC-normalised: composed and decomposed accents,
// full-width letters and ligatures make the same password; a hash of the
// raw form (made before normalisation) still verifies and says so.
func TestNormalisedForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, time.Second)
	hash, err := h.Hash(ctx, "caf\u00e9-ﬁeld-ＡＢＣ")
	if err != nil {
		t.Fatal(err)
	}
	for _, same := range []string{"caf\u00e9-ﬁeld-ＡＢＣ", "cafe\u0301-field-ABC", "caf\u00e9-field-ABC"} {
		if ok, legacy, err := h.VerifyLegacy(ctx, same, hash); err != nil || !ok || legacy {
			t.Errorf("%q: %v %v %v", same, ok, legacy, err)
		}
	}
	raw := "ＡＢＣ-raw-form-1"
	old := encode(h.params, []byte("0123456789abcdef"), argon2.IDKey([]byte(raw), []byte("0123456789abcdef"), 1, 64, 1, 32))
	if ok, legacy, err := h.VerifyLegacy(ctx, raw, old); err != nil || !ok || !legacy {
		t.Fatalf("legacy hash: %v %v %v", ok, legacy, err)
	}
	if ok, _, _ := h.VerifyLegacy(ctx, "ABC-raw-form-1", old); ok {
		t.Fatal("the normalised form matched a hash of the raw form")
	}
}
