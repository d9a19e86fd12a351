package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"gatehouse/server/testkit"
)

// selfSignedPEM is a fresh self-signed CA certificate in PEM.
func selfSignedPEM(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Gatehouse Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// The email group takes an optional CA certificate: PEM certificates are
// stored as they are and answered back (it is not a secret); anything else
// is a 422 field error.
func TestSMTPTLS_CACertificateSetting(t *testing.T) {
	t.Parallel()
	testCACert := selfSignedPEM(t)
	app := testkit.NewApp(t)
	c := app.LoginAs(app.SuperAdmin("alice"))
	email := map[string]any{"version": 0, "host": "smtp.example.com", "port": 587, "username": "", "senderName": "Gatehouse",
		"senderAddress": "noreply@example.com", "tlsMode": "starttls", "caCertificate": "not a certificate"}
	r := c.PUT("/api/admin/settings/email", email).Expect(422)
	if f := r.Fields(); !strings.Contains(f["caCertificate"], "PEM") {
		t.Fatalf("fields %v", f)
	}
	email["caCertificate"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	if f := c.PUT("/api/admin/settings/email", email).Expect(422).Fields(); f["caCertificate"] == "" {
		t.Fatalf("a broken certificate was accepted: %v", f)
	}
	email["caCertificate"] = testCACert
	got := c.PUT("/api/admin/settings/email", email).Expect(200).Map()
	if got["caCertificate"] != testCACert {
		t.Fatalf("answer: %v", got["caCertificate"])
	}
	got = c.GET("/api/admin/settings/email").Expect(200).Map()
	if got["caCertificate"] != testCACert {
		t.Fatalf("GET: %v", got["caCertificate"])
	}
	// Omitted keeps it (older clients send the group without the field).
	delete(got, "caCertificate")
	if got = c.PUT("/api/admin/settings/email", got).Expect(200).Map(); got["caCertificate"] != testCACert {
		t.Fatalf("omitted: %v", got["caCertificate"])
	}
	// "" clears it.
	got["caCertificate"] = ""
	if got = c.PUT("/api/admin/settings/email", got).Expect(200).Map(); got["caCertificate"] != "" {
		t.Fatalf("cleared: %v", got["caCertificate"])
	}
}
