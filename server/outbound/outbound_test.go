package outbound

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://id.example.com/a", "https://id.example.com:443/b", true},
		{"http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b?x", true},
		{"https://id.example.com/a", "http://id.example.com/a", false},
		{"https://id.example.com/a", "https://evil.example.com/a", false},
		{"http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", false},
		{"https://id.example.com/a", "https://id.example.com.evil.test/a", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := SameOrigin(a, b); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

// A server that takes longer than the client allows is a timeout, with
// the fixed message, within about the client's time.
func TestClassifyTimeoutAndRedirects(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	c := NewHTTPClient()
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := c.Get(slow.URL)
	if Classify(err) != Timeout || time.Since(start) > 2*time.Second {
		t.Fatalf("slow server: %v (%s), after %s", err, Classify(err), time.Since(start))
	}
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer loop.Close()
	if _, err := NewHTTPClient().Get(loop.URL); Classify(err) != RedirectRefused {
		t.Fatalf("redirect loop: %v", err)
	}
	if Classify(nil) != "" || Message("nonsense") != Message(BadResponse) {
		t.Fatal("classify nil / unknown message")
	}
}
