package security

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// SecretBox encrypts small secrets at rest with AES-256-GCM.
type SecretBox struct {
	aead cipher.AEAD
	key  []byte
	// afterSeal runs after every Seal when set (SetAfterSeal).
	afterSeal atomic.Pointer[func()]
	// beforeOpen runs before every Open when set (SetBeforeOpen).
	beforeOpen atomic.Pointer[func()]
}

// NewSecretBox builds a box from a 32-byte key.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead, key: append([]byte(nil), key...)}, nil
}

// Key returns the raw key, for deriving other keys (cookie signing).
func (b *SecretBox) Key() []byte { return b.key }

// Seal encrypts plaintext; the result is "v1:" + base64(nonce|ciphertext).
func (b *SecretBox) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	if f := b.afterSeal.Load(); f != nil {
		(*f)()
	}
	return "v1:" + base64.StdEncoding.EncodeToString(out), nil
}

// SetAfterSeal makes f run after every Seal of this box, between sealing
// a value and the caller storing it (nil removes it). Tests use it to
// rotate the key at that moment.
func (b *SecretBox) SetAfterSeal(f func()) {
	if f == nil {
		b.afterSeal.Store(nil)
		return
	}
	b.afterSeal.Store(&f)
}

// SetBeforeOpen makes f run before every Open of this box (nil removes
// it). Tests use it to rotate the key between a request's key check and
// its reading a stored secret.
func (b *SecretBox) SetBeforeOpen(f func()) {
	if f == nil {
		b.beforeOpen.Store(nil)
		return
	}
	b.beforeOpen.Store(&f)
}

// Open decrypts a value produced by Seal.
func (b *SecretBox) Open(sealed string) (string, error) {
	if f := b.beforeOpen.Load(); f != nil {
		(*f)()
	}
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", errors.New("unknown secret format")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errors.New("corrupt secret")
	}
	pt, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("secret cannot be decrypted with this key")
	}
	return string(pt), nil
}

// LoadOrCreateKey returns the key given in env (base64 or hex of 32 bytes)
// or, when empty, the key in path, creating it with mode 0600 when missing.
func LoadOrCreateKey(env, path string) ([]byte, error) {
	if env != "" {
		return parseKey(strings.TrimSpace(env))
	}
	data, err := os.ReadFile(path)
	if err == nil {
		return parseKey(strings.TrimSpace(string(data)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreateKey("", path)
		}
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, nil
}

func parseKey(s string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("secret key must be 32 bytes, base64 or hex encoded")
}

// KeyFingerprint identifies a key without revealing it: the HMAC-SHA256
// of a fixed label under the key (not a hash of the key itself), hex. The
// database keeps it so that an instance with another key refuses to start.
func KeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse secret-key fingerprint v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// NewKey returns a fresh random 32-byte key.
func NewKey() ([]byte, error) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	return key, err
}

// EncodeKey writes a key the way key files hold it (base64 and a newline).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }

// ParseKey reads a key given as base64 or hex of 32 bytes.
func ParseKey(s string) ([]byte, error) { return parseKey(strings.TrimSpace(s)) }
