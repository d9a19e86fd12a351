package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
)

// signInHistoryLength is how many sign-ins and failed attempts are shown.
const signInHistoryLength = 50

// SignInEntry is one sign-in or failed attempt of an account.
type SignInEntry struct {
	At        time.Time `json:"at"`
	Succeeded bool      `json:"succeeded"`
	// Method is how: password, password+totp, password+recovery_code,
	// password+passkey, passkey, provider:SLUG (+totp/recovery_code/passkey);
	// for failures the step that failed.
	Method string `json:"method"`
	// Reason names a failure (wrong_password, locked, wrong_code, ...).
	Reason    string `json:"reason"`
	Provider  string `json:"provider"`
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
}

func signInEntries(rows []models.AuditEvent) []SignInEntry {
	out := make([]SignInEntry, 0, len(rows))
	for _, r := range rows {
		var d struct {
			Method string `json:"method"`
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal([]byte(r.Details), &d)
		e := SignInEntry{At: r.CreatedAt, Succeeded: r.Action == "auth.login_succeeded", Method: d.Method, Reason: d.Reason, IP: r.IP, UserAgent: r.UserAgent}
		switch r.Action {
		case "auth.login_failed":
			e.Method = "password"
			if strings.HasPrefix(d.Reason, "passkey") || d.Reason == "unknown_passkey" {
				e.Method = "passkey"
			}
		case "auth.mfa_failed":
			e.Method = "second_factor"
		}
		if rest, ok := strings.CutPrefix(e.Method, "provider:"); ok {
			e.Provider, _, _ = strings.Cut(rest, "+")
		}
		out = append(out, e)
	}
	return out
}

// MySignIns answers the caller's last sign-ins and failed attempts.
func (h *Handler) MySignIns(c *gin.Context) {
	rows, err := models.SignInHistory(c.Request.Context(), h.Svc.DB, middleware.ActorOf(c).User.ID, signInHistoryLength)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": signInEntries(rows)})
}

// UserSignIns answers an account's last sign-ins and failed attempts.
func (h *Handler) UserSignIns(c *gin.Context) {
	u, err := models.UserByPublicID(c.Request.Context(), h.Svc.DB, c.Param("publicId"))
	if err != nil {
		httpx.Render(c, problem.New(problem.NotFound, "not_found", "The user was not found."))
		return
	}
	rows, err := models.SignInHistory(c.Request.Context(), h.Svc.DB, u.ID, signInHistoryLength)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": signInEntries(rows)})
}
