package api

import (
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
)

// errSecondFactorRequired answers every call but enrolment while the
// login-security rule requires a second factor of the caller and the grace
// period is over.
var errSecondFactorRequired = problem.New(problem.Forbidden, "second_factor_required", "Add a second factor (an authenticator app or a passkey) before doing anything else.")

// SecondFactorGate is the required-second-factor rule, as PasswordChangeGate
// is the required password change: someone the rule covers who has no
// second factor past the grace period may read themselves, sign out, and
// enrol (TOTP or a passkey), nothing else.
func (h *Handler) SecondFactorGate() gin.HandlerFunc {
	allowed := map[string]bool{
		"GET /api/me": true, "POST /api/auth/logout": true,
		"POST /api/me/2fa/setup": true, "POST /api/me/2fa/enable": true,
		"GET /api/me/passkeys": true, "POST /api/me/passkeys/options": true, "POST /api/me/passkeys": true,
	}
	return func(c *gin.Context) {
		u := middleware.ActorOf(c).User
		if u == nil || u.TwoFactorEnabled() || allowed[c.Request.Method+" "+c.FullPath()] {
			c.Next()
			return
		}
		sec, err := h.Svc.Settings.Security(c.Request.Context())
		if err != nil {
			httpx.Render(c, err)
			return
		}
		if due, _ := sec.SecondFactorDue(u, h.Svc.Now()); due {
			httpx.Render(c, errSecondFactorRequired)
			return
		}
		c.Next()
	}
}

// secondFactorState is the caller's standing under the rule, for /api/me.
func (h *Handler) secondFactorState(c *gin.Context) (bool, *time.Time) {
	return h.secondFactorStateOf(c, middleware.ActorOf(c).User)
}

func (h *Handler) secondFactorStateOf(c *gin.Context, u *models.User) (bool, *time.Time) {
	sec, err := h.Svc.Settings.Security(c.Request.Context())
	if err != nil {
		return false, nil
	}
	return sec.SecondFactorDue(u, h.Svc.Now())
}

// signedInUser is the account a sign-in answers, with its standing under
// the rule as /api/me says it: the console sends someone who must enrol
// straight to enrolment.
func (h *Handler) signedInUser(c *gin.Context, u *models.User) User {
	out := NewUser(u, h.Svc.Now())
	out.SecondFactorRequired, out.SecondFactorDeadline = h.secondFactorStateOf(c, u)
	return out
}
