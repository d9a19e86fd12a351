package middleware

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// SessionCookie reads and writes the session cookie. The cookie carries
// only the opaque session token, signed and encrypted by gorilla/sessions;
// the session itself is a database row.
type SessionCookie struct {
	store  *sessions.CookieStore
	name   string
	secure bool
	domain string
}

// NewSessionCookie builds the cookie handler. Over HTTPS the cookie is
// named with the __Host- prefix and marked Secure; browsers refuse
// __Host- cookies without Secure, so plain-HTTP installs use a bare name.
func NewSessionCookie(hashKey, blockKey []byte, secure bool) *SessionCookie {
	return newCookie("gatehouse_session", hashKey, blockKey, secure)
}

// WithDomain shares the cookie with domain and its subdomains (the Domain
// attribute; "" changes nothing). A __Host- cookie may not carry a Domain,
// so over HTTPS the name becomes __Secure-gatehouse_session: still Secure
// only, but now sent to every host under domain. Sessions signed in under
// the other name end (their holders sign in again).
func (s *SessionCookie) WithDomain(domain string) *SessionCookie {
	if domain == "" {
		return s
	}
	s.domain = domain
	s.store.Options.Domain = domain
	base := strings.TrimPrefix(s.name, "__Host-")
	if s.secure {
		s.name = "__Secure-" + base
	}
	return s
}

// NewChallengeCookie holds the pending second-factor challenge between the
// password step and the code step (five minutes; not a session).
func NewChallengeCookie(hashKey, blockKey []byte, secure bool) *SessionCookie {
	return newCookie("gatehouse_mfa", hashKey, blockKey, secure)
}

func newCookie(base string, hashKey, blockKey []byte, secure bool) *SessionCookie {
	store := sessions.NewCookieStore(hashKey, blockKey)
	for _, c := range store.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(tokenSerializer{})
		}
	}
	// The database row decides expiry; the signed cookie only needs to
	// outlive the longest session lifetime a setting allows.
	store.MaxAge(366 * 86400)
	store.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	name := base
	if secure {
		name = "__Host-" + base
	}
	return &SessionCookie{store: store, name: name, secure: secure}
}

// DeviceCookie is the browser's long-lived device token: a random value
// set at sign-in that tells a known browser from a new one (see
// service.Alerts). It grants nothing, so it is a plain cookie; the server
// keeps only its hash.
type DeviceCookie struct {
	name   string
	secure bool
}

// NewDeviceCookie builds the device cookie handler (__Host- and Secure
// over HTTPS, like the session cookie).
func NewDeviceCookie(secure bool) *DeviceCookie {
	name := "gatehouse_device"
	if secure {
		name = "__Host-" + name
	}
	return &DeviceCookie{name: name, secure: secure}
}

// Token returns the device token the request carries, or "".
func (d *DeviceCookie) Token(r *http.Request) string {
	c, err := r.Cookie(d.name)
	if err != nil || len(c.Value) > 64 {
		return ""
	}
	return c.Value
}

// Set stores token for service.DeviceCookieLifetime.
func (d *DeviceCookie) Set(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: d.name, Value: token, Path: "/", MaxAge: int(service.DeviceCookieLifetime.Seconds()),
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
}

// tokenSerializer stores the cookie's one value, the token, as its bytes.
// gorilla's default (encoding/gob) compiled a decoder for every request,
// a fifth of the cost of an authenticated request. The bytes are still
// encrypted and signed by securecookie.
type tokenSerializer struct{}

func (tokenSerializer) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok || len(m) > 1 {
		return nil, errors.New("session cookie: only the token is stored")
	}
	t, _ := m["t"].(string)
	return []byte(t), nil
}

func (tokenSerializer) Deserialize(b []byte, dst any) error {
	m, ok := dst.(*map[any]any)
	if !ok {
		return errors.New("session cookie: unexpected destination")
	}
	if *m == nil {
		*m = map[any]any{}
	}
	if len(b) > 0 {
		(*m)["t"] = string(b)
	}
	return nil
}

// Name is the cookie's name.
func (s *SessionCookie) Name() string { return s.name }

// Token returns the session token the request carries, or "".
func (s *SessionCookie) Token(r *http.Request) string {
	// Decoded directly with the store's codecs: going through the store
	// allocates a per-request registry and session for a single value.
	c, err := r.Cookie(s.name)
	if err != nil {
		return ""
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(s.name, c.Value, &values, s.store.Codecs...); err != nil {
		return ""
	}
	t, _ := values["t"].(string)
	return t
}

// Set stores token in the cookie for maxAge seconds.
func (s *SessionCookie) Set(w http.ResponseWriter, r *http.Request, token string, maxAge int) error {
	sess, _ := s.store.New(r, s.name)
	sess.Values = map[any]any{"t": token}
	sess.Options.MaxAge = maxAge
	return sess.Save(r, w)
}

// Clear deletes the cookie.
func (s *SessionCookie) Clear(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.store.New(r, s.name)
	sess.Options.MaxAge = -1
	_ = sess.Save(r, w)
}

const (
	actorKey   = "gatehouse.actor"
	sessionKey = "gatehouse.session"
	bearerKey  = "gatehouse.bearer"
)

// Authenticate resolves the caller from a bearer token or the session
// cookie and stores the Actor in the context. Anonymous callers pass
// through; RequireUser refuses them. An invalid bearer token is refused
// outright, an invalid cookie just means "anonymous".
//
// A bearer token that starts with service.APIKeyPrefix is a service API
// key: the actor is the key (no user), and KeyGate decides which routes it
// may use.
func Authenticate(auth *service.Auth, keys *service.APIKeys, cookie *SessionCookie) gin.HandlerFunc {
	device := NewDeviceCookie(cookie.secure)
	return func(c *gin.Context) {
		actor := service.Actor{IP: c.ClientIP(), UserAgent: c.Request.UserAgent(), Device: device.Token(c.Request)}
		var (
			sess *models.Session
			user *models.User
			err  error
		)
		if h := c.GetHeader("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				httpx.Render(c, problem.New(problem.Unauthenticated, "unauthenticated", "Only Bearer tokens are accepted."))
				return
			}
			token = strings.TrimSpace(token)
			if strings.HasPrefix(token, service.APIKeyPrefix) {
				key, err := keys.Authenticate(c.Request.Context(), token, actor.IP)
				if err != nil {
					httpx.Render(c, err)
					return
				}
				actor.Key = key
				c.Set(actorKey, actor)
				c.Next()
				return
			}
			sess, user, err = auth.AuthenticateBearer(c.Request.Context(), token)
			if err != nil {
				httpx.Render(c, err)
				return
			}
			c.Set(bearerKey, true)
		} else if token := cookie.Token(c.Request); token != "" {
			sess, user, err = auth.Authenticate(c.Request.Context(), token)
			var pe *problem.Error
			if err != nil && !errors.As(err, &pe) {
				httpx.Render(c, err)
				return
			}
		}
		if user != nil && sess != nil {
			actor.User, actor.SessionID = user, sess.ID
			c.Set(sessionKey, sess)
		}
		c.Set(actorKey, actor)
		c.Next()
	}
}

// ActorOf returns the caller as Authenticate resolved it.
func ActorOf(c *gin.Context) service.Actor {
	a, _ := c.Get(actorKey)
	actor, _ := a.(service.Actor)
	return actor
}

// SessionOf returns the caller's session, or nil.
func SessionOf(c *gin.Context) *models.Session {
	s, _ := c.Get(sessionKey)
	sess, _ := s.(*models.Session)
	return sess
}

// ViaBearer reports whether the caller authenticated with an access token.
func ViaBearer(c *gin.Context) bool { return c.GetBool(bearerKey) }

// RequireUser refuses anonymous callers with 401.
func RequireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ActorOf(c).User == nil {
			httpx.Render(c, httpx.ErrUnauthenticated)
			return
		}
		c.Next()
	}
}

// RequireAdmin refuses callers below the admin role with 403 (401 when
// anonymous). A service API key passes: KeyGate has already let it
// through to this route only if the route is opened to keys.
func RequireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		a := ActorOf(c)
		u := a.User
		if u == nil && a.Key != nil {
			c.Next()
			return
		}
		if u == nil {
			httpx.Render(c, httpx.ErrUnauthenticated)
			return
		}
		if !models.IsAdminRole(u.Role) {
			httpx.Render(c, httpx.ErrForbidden)
			return
		}
		c.Next()
	}
}

// RequireSuperAdmin refuses callers below the super-administrator role
// with 403 super_admin_required and message (401 when anonymous). The
// service checks the same rule again; this keeps refused requests (and
// their outbound calls) from reaching it.
func RequireSuperAdmin(message string) gin.HandlerFunc {
	refused := problem.New(problem.Forbidden, "super_admin_required", message)
	return func(c *gin.Context) {
		u := ActorOf(c).User
		if u == nil {
			httpx.Render(c, httpx.ErrUnauthenticated)
			return
		}
		if u.Role != models.RoleSuperAdmin {
			httpx.Render(c, refused)
			return
		}
		c.Next()
	}
}

// PasswordChangeGate blocks an account that must choose a new password
// (after an admin reset) from everything but reading itself, changing the
// password and signing out.
func PasswordChangeGate() gin.HandlerFunc {
	allowed := map[string]bool{
		"GET /api/me": true, "POST /api/me/password": true, "POST /api/auth/logout": true,
	}
	return func(c *gin.Context) {
		u := ActorOf(c).User
		if u != nil && u.MustChangePassword && !allowed[c.Request.Method+" "+c.FullPath()] {
			httpx.Render(c, problem.New(problem.Forbidden, "password_change_required", "Choose a new password before doing anything else."))
			return
		}
		c.Next()
	}
}

// KeyRoutes names the routes ("METHOD /api/path" as registered) that a
// service API key may call, with the scope each needs.
type KeyRoutes map[string]string

// KeyGate refuses a service API key on every route that KeyRoutes does not
// open to keys (403 api_key_not_allowed) and on an opened route whose
// scope the key lacks (403 insufficient_scope).
func KeyGate(open KeyRoutes) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := ActorOf(c).Key
		if k == nil {
			c.Next()
			return
		}
		scope, ok := open[c.Request.Method+" "+c.FullPath()]
		if !ok {
			httpx.Render(c, service.ErrKeyNotAllowed)
			return
		}
		if !service.HasScope(k, scope) {
			httpx.Render(c, service.ErrInsufficientSc)
			return
		}
		c.Next()
	}
}

// RequireKey refuses callers without a service API key (401): the
// service API is for keys only.
var errKeyRequired = problem.New(problem.Unauthenticated, "api_key_required", "This operation needs a service API key (Authorization: Bearer ghk_...).")

// RequireKey refuses callers without a service API key with 401.
func RequireKey() gin.HandlerFunc {
	return func(c *gin.Context) {
		if ActorOf(c).Key == nil {
			httpx.Render(c, errKeyRequired)
			return
		}
		c.Next()
	}
}
