package security

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a URL-safe random token carrying nbytes of entropy.
func NewToken(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the stored form of a bearer secret (session, access, reset
// tokens): a plain SHA-256, which is enough because the tokens are random.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

const publicIDAlphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford-style, no i/l/o/u

// NewPublicID returns a random 16-character lowercase identifier (80 bits).
func NewPublicID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = publicIDAlphabet[int(b[i])%len(publicIDAlphabet)]
	}
	return string(b)
}

// RandomString draws n characters from alphabet (at most 256 characters)
// with crypto/rand, rejecting bytes that would bias the choice.
func RandomString(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
