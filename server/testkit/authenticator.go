package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator is a software WebAuthn authenticator for tests: it makes
// P-256 passkeys with "none" attestation and signs assertions the way a
// browser and a security key together would answer
// navigator.credentials.create/get. Origin and RPID are what it claims;
// change them to play a phishing site.
type Authenticator struct {
	Origin string
	RPID   string
	// Counter is the signature counter the next assertion reports, and is
	// incremented by each; 0 keeps it at zero (as synced passkeys do).
	Counter uint32
	creds   []*softCredential
}

type softCredential struct {
	ID         []byte
	key        *ecdsa.PrivateKey
	userHandle []byte
}

// NewAuthenticator returns an authenticator that answers as a browser at
// origin (its host is the RP ID) would.
func NewAuthenticator(origin string) *Authenticator {
	u, err := url.Parse(origin)
	if err != nil {
		panic(err)
	}
	return &Authenticator{Origin: origin, RPID: u.Hostname(), Counter: 1}
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
}

type requestOptions struct {
	Challenge        string `json:"challenge"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

func (a *Authenticator) clientData(t testing.TB, typ, challenge string) []byte {
	t.Helper()
	js, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func (a *Authenticator) authData(flags byte, counter uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

// Create answers the publicKey options of a registration ceremony with a
// new discoverable credential, as the JSON a browser's
// PublicKeyCredential.toJSON() gives.
func (a *Authenticator) Create(t testing.TB, publicKey any) json.RawMessage {
	t.Helper()
	var opts creationOptions
	remarshal(t, publicKey, &opts)
	userHandle, err := b64.DecodeString(opts.User.ID)
	if err != nil {
		t.Fatalf("user.id: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	c := &softCredential{ID: id, key: key, userHandle: userHandle}
	a.creds = append(a.creds, c)

	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 | x | y
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(id)))
	attested = append(attested, id...)
	attested = append(attested, cose...)
	// UP | UV | AT
	auth := a.authData(0x01|0x04|0x40, 0, attested)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", opts.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
	})
}

// Get answers the publicKey options of a sign-in ceremony with the
// authenticator's newest credential that the options allow.
func (a *Authenticator) Get(t testing.TB, publicKey any) json.RawMessage {
	t.Helper()
	var opts requestOptions
	remarshal(t, publicKey, &opts)
	var c *softCredential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		if len(opts.AllowCredentials) == 0 {
			c = a.creds[i]
		}
		for _, allowed := range opts.AllowCredentials {
			if allowed.ID == b64.EncodeToString(a.creds[i].ID) {
				c = a.creds[i]
			}
		}
	}
	if c == nil {
		t.Fatal("authenticator: no credential for these options")
	}
	counter := a.Counter
	if a.Counter > 0 {
		a.Counter++
	}
	auth := a.authData(0x01|0x04, counter, nil)
	cd := a.clientData(t, "webauthn.get", opts.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

func remarshal(t testing.TB, in, out any) {
	t.Helper()
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, out); err != nil {
		t.Fatalf("options: %v", err)
	}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
