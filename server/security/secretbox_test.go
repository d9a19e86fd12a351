package security

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func newBox(t *testing.T, fill byte) *SecretBox {
	t.Helper()
	b, err := NewSecretBox(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSecretBoxSealOpen(t *testing.T) {
	t.Parallel()
	box := newBox(t, 7)
	for _, pt := range []string{"", "smtp-password", "密码 with spaces", strings.Repeat("x", 10000)} {
		sealed, err := box.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Fatalf("sealed value %q has no version prefix", sealed)
		}
		if pt != "" && strings.Contains(sealed, pt) {
			t.Fatal("the sealed value contains the plaintext")
		}
		got, err := box.Open(sealed)
		if err != nil || got != pt {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		again, _ := box.Seal(pt)
		if again == sealed {
			t.Fatal("sealing twice gives the same value: the nonce is not random")
		}
	}
}

func TestSecretBoxRefusesTamperingAndWrongKeys(t *testing.T) {
	t.Parallel()
	box := newBox(t, 7)
	sealed, err := box.Seal("client-secret")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	flip := func(i int) string {
		c := append([]byte(nil), raw...)
		c[i] ^= 1
		return "v1:" + base64.StdEncoding.EncodeToString(c)
	}
	cases := map[string]string{
		"flipped nonce bit":      flip(0),
		"flipped ciphertext bit": flip(13),
		"flipped tag bit":        flip(len(raw) - 1),
		"truncated":              "v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]),
		"too short":              "v1:" + base64.StdEncoding.EncodeToString(raw[:5]),
		"no prefix":              strings.TrimPrefix(sealed, "v1:"),
		"unknown version":        "v2:" + strings.TrimPrefix(sealed, "v1:"),
		"not base64":             "v1:!!!not-base64!!!",
		"empty":                  "",
	}
	for name, v := range cases {
		if got, err := box.Open(v); err == nil {
			t.Errorf("%s: Open succeeded with %q", name, got)
		}
	}
	if got, err := newBox(t, 8).Open(sealed); err == nil {
		t.Errorf("another key opened the secret: %q", got)
	}
}

func TestNewSecretBoxKeyLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSecretBox(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte key was accepted", n)
		}
	}
	key := bytes.Repeat([]byte{1}, 32)
	b, err := NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 2 // the box keeps its own copy
	if b.Key()[0] != 1 {
		t.Fatal("the box shares the caller's key slice")
	}
}

func TestLoadOrCreateKeyCreatesA0600File(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	key, err := LoadOrCreateKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Fatalf("key has %d bytes", len(key))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %o, want 600", perm)
	}
	if dst, err := os.Stat(filepath.Dir(path)); err != nil || dst.Mode().Perm()&0o077 != 0 {
		t.Fatalf("data directory is readable by others: %v %v", dst.Mode(), err)
	}
	again, err := LoadOrCreateKey("", path)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load gave another key (%v)", err)
	}
	other, err := LoadOrCreateKey("", filepath.Join(t.TempDir(), "secret.key"))
	if err != nil || bytes.Equal(other, key) {
		t.Fatalf("two new key files hold the same key (%v)", err)
	}
}

func TestLoadOrCreateKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xab}, 32)
	missing := filepath.Join(t.TempDir(), "secret.key")
	for name, env := range map[string]string{
		"base64":          base64.StdEncoding.EncodeToString(key),
		"hex":             hex.EncodeToString(key),
		"with whitespace": "  " + hex.EncodeToString(key) + "\n",
	} {
		got, err := LoadOrCreateKey(env, missing)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a key file was written although the key came from the environment")
	}
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString(key[:16]), hex.EncodeToString(key[:31])} {
		if _, err := LoadOrCreateKey(bad, missing); err == nil {
			t.Errorf("invalid key %q accepted", bad)
		}
	}
}

func TestLoadOrCreateKeyRefusesACorruptFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey("", path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
	if data, _ := os.ReadFile(path); string(data) != "not a key\n" {
		t.Fatal("a corrupt key file was overwritten")
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for i := 0; i < 200; i++ {
		tok := NewToken(32)
		if len(tok) != 43 || !urlSafe.MatchString(tok) {
			t.Fatalf("token %q is not 43 URL-safe characters", tok)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
	h := HashToken("abc")
	if h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken is not hex SHA-256: %s", h)
	}
	if HashToken("abd") == h {
		t.Fatal("different tokens hash alike")
	}
	pid := regexp.MustCompile(`^[0-9abcdefghjkmnpqrstvwxyz]{16}$`)
	ids := map[string]bool{}
	for i := 0; i < 200; i++ {
		id := NewPublicID()
		if !pid.MatchString(id) {
			t.Fatalf("public ID %q", id)
		}
		if ids[id] {
			t.Fatal("duplicate public ID")
		}
		ids[id] = true
	}
}

func TestRandomStringUsesOnlyTheAlphabet(t *testing.T) {
	for _, alphabet := range []string{"ab", "0123456789", recoveryAlphabet} {
		// 5000 draws: the chance that one of 31 characters never comes up
		// is about 31 * (30/31)^5000, which is nil (200 draws failed ~4%).
		s := RandomString(alphabet, 5000)
		if len(s) != 5000 {
			t.Fatalf("length %d", len(s))
		}
		seen := map[rune]bool{}
		for _, r := range s {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("%q outside %q", r, alphabet)
			}
			seen[r] = true
		}
		if len(seen) != len(alphabet) {
			t.Fatalf("only %d of %d characters drawn from %q", len(seen), len(alphabet), alphabet)
		}
	}
}
