package multiinstance_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/server/mail/mailsink"
)

// TestMultiInstance runs the scenarios in order on one cluster of two
// instances (starting one per scenario would cost more time than the
// scenarios themselves). Other scenarios add t.Run steps here or start
// their own cluster with NewCluster(t, Options{Args: ..., Env: ...}) in a
// TestMultiInstance_X.
func TestMultiInstance(t *testing.T) {
	c := NewCluster(t, Options{})
	a, b := c.Instances()[0], c.Instances()[1]
	lb := c.LB.URL
	rootClient := c.Client()

	t.Run("StartedTogetherOnAnEmptyDatabase", func(t *testing.T) {
		// NewCluster started both at the same instant on an empty
		// database; both migrated (one waited) and listen. Both printed
		// a setup link.
		setupLink(t, a)
		setupLink(t, b)
	})

	t.Run("SetupLinkOnEitherInstance", func(t *testing.T) {
		root := rootClient.In(t)
		// The link A printed works on B; afterwards B's own link is void.
		tokenA, tokenB := setupLink(t, a), setupLink(t, b)
		r := root.Do("POST", b.Base, "/api/setup", map[string]string{"token": tokenA, "username": "root", "password": password})
		if r.Status != http.StatusCreated {
			t.Fatalf("A's setup link on B: %s", r)
		}
		if r := c.Client().In(t).Do("POST", a.Base, "/api/setup", map[string]string{"token": tokenB, "username": "root2", "password": password}); r.Status != http.StatusConflict || r.Code() != "setup_done" {
			t.Fatalf("B's link on A after setup: %s", r)
		}
		root.SignIn(lb, "root", password)
	})

	t.Run("SettingsPropagation", func(t *testing.T) {
		root := rootClient.In(t)
		// A change on one instance holds on the next request on the other.
		for i := range 3 {
			root.Settings(a.Base, "registration", map[string]any{"emailRegistrationEnabled": true})
			if r := c.Client().In(t).Do("POST", b.Base, "/api/auth/register", map[string]any{"username": fmt.Sprintf("reg%d", i), "email": fmt.Sprintf("reg%d@example.com", i), "password": password}); r.Status != http.StatusAccepted {
				t.Fatalf("round %d: B after A opened registration: %s", i, r)
			}
			root.Settings(b.Base, "registration", map[string]any{"emailRegistrationEnabled": false})
			if r := c.Client().In(t).Do("POST", a.Base, "/api/auth/register", map[string]any{"username": fmt.Sprintf("late%d", i), "email": fmt.Sprintf("late%d@example.com", i), "password": password}); r.Status != http.StatusForbidden || r.Code() != "registration_closed" {
				t.Fatalf("round %d: A after B closed registration: %s", i, r)
			}
		}
	})

	t.Run("SessionRevocation", func(t *testing.T) {
		c.addUser(t, "alice", "user")
		phone, laptop := c.Client().In(t), c.Client().In(t)
		phone.SignIn(lb, "alice", password)
		laptop.SignIn(lb, "alice", password)
		for _, inst := range []*Instance{a, b} {
			if r := laptop.Do("GET", inst.Base, "/api/me", nil); r.Status != 200 {
				t.Fatalf("laptop before revocation: %s", r)
			}
		}
		// Signing out the other devices on A ends the laptop's session on
		// both instances at once.
		if r := phone.Do("DELETE", a.Base, "/api/me/sessions", nil); r.Status/100 != 2 {
			t.Fatalf("revoke other sessions: %s", r)
		}
		for _, inst := range []*Instance{b, a} {
			if r := laptop.Do("GET", inst.Base, "/api/me", nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("laptop after revocation: %s", r)
			}
			if r := phone.Do("GET", inst.Base, "/api/me", nil); r.Status != 200 {
				t.Fatalf("phone after revoking the others: %s", r)
			}
		}
	})

	t.Run("LockCountsShared", func(t *testing.T) {
		root := rootClient.In(t)
		root.Settings(a.Base, "security", map[string]any{"lockThreshold": 4, "authRateLimitPerMinute": 100})
		c.addUser(t, "bob", "user")
		guesser := c.Client().In(t)
		wrong := map[string]string{"identifier": "bob", "password": "wrong-password-1"}
		for i, inst := range []*Instance{a, b, a} {
			if r := guesser.Do("POST", inst.Base, "/api/auth/login", wrong); r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i+1, r)
			}
		}
		// Three wrong of four: not locked yet on either instance ...
		if r := c.Client().In(t).Do("POST", b.Base, "/api/auth/login", map[string]string{"identifier": "bob", "password": password}); r.Status != 200 {
			t.Fatalf("bob after three wrong passwords: %s", r)
		}
		// ... four in a row on alternating instances lock him on both.
		for i, inst := range []*Instance{b, a, b, a} {
			if r := guesser.Do("POST", inst.Base, "/api/auth/login", wrong); r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %s", i+1, r)
			}
		}
		for _, inst := range []*Instance{a, b} {
			if r := c.Client().In(t).Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": "bob", "password": password}); r.Status != http.StatusUnauthorized {
				t.Fatalf("bob's right password after four wrong on two instances: %s", r)
			}
		}
	})

	t.Run("RateLimitsShared", func(t *testing.T) {
		root := rootClient.In(t)
		root.Settings(b.Base, "security", map[string]any{"rateLimitEnabled": true, "authRateLimitPerMinute": 4})
		cl := c.Client().In(t)
		seen := map[string]bool{}
		for i := range 4 {
			r := cl.Do("POST", lb, "/api/auth/login", map[string]string{"identifier": fmt.Sprintf("nobody%d", i), "password": "wrong-password-1"})
			seen[r.Header.Get("X-Test-Instance")] = true
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %s", i+1, r)
			}
			if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(3-i) {
				t.Fatalf("attempt %d: X-RateLimit-Remaining %q, want %d", i+1, got, 3-i)
			}
		}
		if len(seen) != 2 {
			t.Fatalf("the proxy used %d instances", len(seen))
		}
		for _, inst := range []*Instance{a, b} {
			if r := cl.Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": "nobody", "password": "wrong-password-1"}); r.Status != http.StatusTooManyRequests {
				t.Fatalf("fifth attempt: %s", r)
			}
		}
		root.Settings(a.Base, "security", map[string]any{"authRateLimitPerMinute": 100})
	})

	// Redis killed, then hung: each instance counts the limit in its own
	// memory (5 a minute still holds per instance), sign-in stays under
	// 500 ms, /api/ready says degraded (still 200); Redis back, shared again.
	for _, outage := range []struct {
		name  string
		start func()
	}{{"RedisKilled", c.Redis.Cut}, {"RedisHung", c.Redis.Hang}} {
		t.Run(outage.name, func(t *testing.T) {
			root := rootClient.In(t)
			root.Settings(a.Base, "security", map[string]any{"rateLimitEnabled": true, "authRateLimitPerMinute": 5})
			outage.start()
			for _, inst := range []*Instance{a, b} {
				cl := c.Client().In(t)
				refused := 0
				var slowest time.Duration
				for i := range 8 {
					start := time.Now()
					r := cl.Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": fmt.Sprintf("nobody%d", i), "password": "wrong-password-1"})
					slowest = max(slowest, time.Since(start))
					if r.Status == http.StatusTooManyRequests {
						refused++
					}
				}
				t.Logf("%s: %d of 8 refused, slowest sign-in %v", inst.Base, refused, slowest)
				if refused < 3 {
					t.Errorf("%s: %d of 8 sign-ins refused over a limit of 5", inst.Base, refused)
				}
				if slowest > 500*time.Millisecond {
					t.Errorf("%s: slowest sign-in %v; want under 500ms", inst.Base, slowest)
				}
				if r := cl.Do("GET", inst.Base, "/api/ready", nil); r.Status != 200 || r.Map()["status"] != "degraded" {
					t.Errorf("%s: ready with Redis down: %s", inst.Base, r)
				}
			}
			c.Redis.Restore()
			for _, inst := range []*Instance{a, b} {
				Eventually(t, 10*time.Second, func() string {
					if r := root.Do("GET", inst.Base, "/api/ready", nil); r.Status != 200 || r.Map()["status"] != "ok" {
						return "Redis back, ready says: " + r.String()
					}
					return ""
				})
			}
			root.Settings(a.Base, "security", map[string]any{"authRateLimitPerMinute": 100})
		})
	}

	t.Run("MailOutboxExactlyOnce", func(t *testing.T) {
		root := rootClient.In(t)
		// An in-process SMTP server that is down at first: both instances
		// queue verification emails and fail to send them, then it comes
		// back on the same address and every email arrives exactly once
		// although both instances send from the one outbox.
		sink, err := mailsink.Start("")
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		root.Settings(a.Base, "email", map[string]any{"host": sink.Host(), "port": sink.Port(), "tlsMode": "none", "username": "", "senderAddress": "noreply@gatehouse.test"})
		root.Settings(b.Base, "registration", map[string]any{"emailRegistrationEnabled": true, "requireEmailVerification": true})
		sink.SetDown(true)
		const n = 10
		for i := range n {
			r := c.Client().In(t).Do("POST", lb, "/api/auth/register", map[string]any{"username": fmt.Sprintf("mail%d", i), "email": fmt.Sprintf("mail%d@example.com", i), "password": password})
			if r.Status != http.StatusAccepted {
				t.Fatalf("register %d: %s", i, r)
			}
		}
		// Each has failed its first attempt (the retry waits 30 s).
		Eventually(t, 10*time.Second, func() string {
			r := root.Do("GET", lb, "/api/admin/outbox?status=queued", nil)
			items, _ := r.Map()["items"].([]any)
			tried := 0
			for _, it := range items {
				if it.(map[string]any)["attempts"].(float64) >= 1 {
					tried++
				}
			}
			if tried < n {
				return fmt.Sprintf("%d of %d emails tried while SMTP is down: %s", tried, n, r)
			}
			return ""
		})
		sink.SetDown(false)
		up := sink
		Eventually(t, 60*time.Second, func() string {
			if got := len(up.Messages()); got < n {
				return fmt.Sprintf("%d of %d emails arrived", got, n)
			}
			return ""
		})
		time.Sleep(5 * time.Second) // two more polls of each instance: nothing sent twice
		count := map[string]int{}
		for _, m := range up.Messages() {
			for _, to := range m.To {
				count[to]++
			}
		}
		for i := range n {
			if to := fmt.Sprintf("mail%d@example.com", i); count[to] != 1 {
				t.Errorf("%s received %d emails", to, count[to])
			}
		}
		// The outbox holds each registration email once, sent. (Other mail,
		// such as a new-device alert from an earlier step, may be there too.)
		r := root.Do("GET", lb, "/api/admin/outbox?status=sent&perPage=100", nil)
		items, _ := r.Map()["items"].([]any)
		sent := map[string]int{}
		for _, it := range items {
			m := it.(map[string]any)
			if m["kind"] == "verify" {
				sent[m["to"].(string)]++
			}
		}
		for i := range n {
			if to := fmt.Sprintf("mail%d@example.com", i); sent[to] != 1 {
				t.Errorf("outbox: %s sent %d times: %s", to, sent[to], r)
			}
		}
		if len(sent) != n {
			t.Errorf("outbox: %d verification addresses sent, want %d: %s", len(sent), n, r)
		}
		root.Settings(b.Base, "registration", map[string]any{"emailRegistrationEnabled": false, "requireEmailVerification": false})
	})

	t.Run("DatabaseOutage", func(t *testing.T) {
		root := rootClient.In(t)
		c.PG.Cut()
		cl := c.Client().In(t)
		for _, inst := range []*Instance{a, b} {
			for _, r := range []*Response{
				cl.Do("POST", inst.Base, "/api/auth/login", map[string]string{"identifier": "root", "password": password}),
				root.Do("GET", inst.Base, "/api/admin/users", nil),
			} {
				if r.Status != http.StatusServiceUnavailable || r.Code() != "storage_unavailable" || r.Header.Get("Retry-After") == "" {
					t.Errorf("database down: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
				}
			}
			if r := cl.Do("GET", inst.Base, "/api/ready", nil); r.Status != http.StatusServiceUnavailable {
				t.Errorf("ready with the database down: %s", r)
			}
		}
		c.PG.Restore()
		for _, inst := range []*Instance{a, b} {
			Eventually(t, 15*time.Second, func() string {
				if r := root.Do("GET", inst.Base, "/api/admin/users", nil); r.Status != 200 {
					return "no recovery: " + r.String()
				}
				return ""
			})
		}
		cl.SignIn(a.Base, "root", password)
		cl.SignIn(b.Base, "root", password)
	})

	t.Run("MismatchedKeyRefused", func(t *testing.T) {
		root := rootClient.In(t)
		_, err := c.Start([]string{"GATEHOUSE_SECRET_KEY=" + randomKey(t)})
		if err == nil || !strings.Contains(err.Error(), "secret key") || !strings.Contains(err.Error(), "GATEHOUSE_SECRET_KEY") {
			t.Fatalf("an instance with another key: %v", err)
		}
		// The others are unaffected.
		if r := root.Do("GET", lb, "/api/me", nil); r.Status != 200 {
			t.Fatalf("after the refused start: %s", r)
		}
	})
}
