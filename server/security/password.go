// Package security holds the cryptographic building blocks: password
// hashing, random tokens, and encryption of secrets at rest.
package security

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// NormalizePassword returns the NFKC form of a password: the same
// characters typed on another keyboard or input method (a full-width
// letter, a ligature, a composed or decomposed accent) make the same
// password. Hash, Verify and the policy checks all use it.
func NormalizePassword(p string) string { return norm.NFKC.String(p) }

// Argon2Params are the argon2id cost parameters. They are written into every
// hash, so changing them later does not break existing hashes.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultArgon2 follows the OWASP recommendation (m=19 MiB, t=2, p=1).
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrHasherBusy means too many hashes were queued for too long; the caller
// should answer 503 with Retry-After.
var ErrHasherBusy = errors.New("password hasher busy")

// ErrMalformedHash is returned for a stored hash that cannot be parsed.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes and verifies passwords with argon2id, letting at most a
// fixed number run at once so that a burst of sign-ins cannot exhaust memory
// (each hash holds MemoryKiB for its duration).
type Hasher struct {
	params  Argon2Params
	slots   chan struct{}
	maxWait time.Duration
	dummy   string
}

// NewHasher returns a hasher allowing `concurrency` hashes at once (0 means
// the CPU count) and queueing others for at most maxWait.
func NewHasher(p Argon2Params, concurrency int, maxWait time.Duration) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency), maxWait: maxWait}
	// The dummy only has to cost what a real verification costs: Verify
	// hashes with the parameters written in it and then reports false
	// whatever the result, so its key can be random instead of the output
	// of an argon2id run (which would hold MemoryKiB and add a hash's time
	// to every start).
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	h.dummy = encode(p, salt, key)
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrHasherBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-formatted argon2id hash of password's NFKC form.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(NormalizePassword(password)), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded. An empty encoded hash
// (unknown user, account without a password) is checked against a dummy hash
// so that the answer takes as long as a real one.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	ok, _, err := h.VerifyLegacy(ctx, password, encoded)
	return ok, err
}

// VerifyLegacy is Verify that also reports a match of the password as
// typed, not normalised: hashes made before passwords were NFKC-normalised.
// The caller should then hash the password again. A password that NFKC
// leaves unchanged is hashed once; one it changes is hashed twice, known
// account or not, so the time still says nothing about the account.
func (h *Hasher) VerifyLegacy(ctx context.Context, password, encoded string) (ok, legacy bool, err error) {
	normal := NormalizePassword(password)
	if ok, err = h.verify(ctx, normal, encoded); err != nil || ok || normal == password {
		return ok, false, err
	}
	ok, err = h.verify(ctx, password, encoded)
	return ok, ok, err
}

func (h *Hasher) verify(ctx context.Context, password, encoded string) (bool, error) {
	useDummy := encoded == ""
	if useDummy {
		encoded = h.dummy
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok := subtle.ConstantTimeCompare(got, key) == 1
	return ok && !useDummy, nil
}

// NeedsRehash reports whether encoded uses other parameters than the current ones.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p.MemoryKiB != h.params.MemoryKiB || p.Time != h.params.Time || p.Threads != h.params.Threads
}

var b64 = base64.RawStdEncoding

func encode(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
