package security

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 defaults that every authenticator app knows).
const (
	TOTPPeriod = 30
	TOTPDigits = otp.DigitsSix
)

// NewTOTPKey makes a fresh secret for account at issuer.
func NewTOTPKey(issuer, account string) (secret, url, qrDataURL string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: TOTPPeriod, Digits: TOTPDigits, SecretSize: 20, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", "", "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", "", "", err
	}
	return key.Secret(), key.URL(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// TOTPStep is the time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode computes the code of secret at step (tests and enrolment use it).
func TOTPCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*TOTPPeriod, 0).UTC(), totp.ValidateOpts{Period: TOTPPeriod, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1})
}

// MatchTOTP returns the step (now, one before, one after, for clock skew)
// whose code equals code, or 0 when none does. The caller accepts a step
// at most once.
func MatchTOTP(secret, code string, now time.Time) int64 {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0
	}
	cur := TOTPStep(now)
	var found int64
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		want, err := TOTPCode(secret, step)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step
		}
	}
	return found
}

const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewRecoveryCode returns a code like "k7x2m-p9qrt" (about 49 bits).
func NewRecoveryCode() string {
	c := RandomString(recoveryAlphabet, 10)
	return c[:5] + "-" + c[5:]
}

// NormalizeRecoveryCode lower-cases and strips spaces so that typing
// variations still match.
func NormalizeRecoveryCode(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if len(s) == 10 && !strings.Contains(s, "-") {
		s = s[:5] + "-" + s[5:]
	}
	return s
}
