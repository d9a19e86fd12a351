package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

var errUnknownGroup = problem.New(problem.NotFound, "unknown_settings_group", "There is no such settings group.")

func renderSettings(c *gin.Context, v *service.SettingsView) {
	out := gin.H{}
	if m, ok := v.Value.(map[string]any); ok {
		for k, val := range m {
			out[k] = val
		}
	}
	out["version"] = v.Version
	if v.AdminSignIn != nil {
		out["adminSignInPaths"] = v.AdminSignIn
	}
	c.JSON(http.StatusOK, out)
}

// GetSettings answers one settings group with its version.
func (h *Handler) GetSettings(c *gin.Context) {
	group := c.Param("group")
	if !service.ValidGroup(group) {
		httpx.Render(c, errUnknownGroup)
		return
	}
	v, err := h.Svc.Settings.View(c.Request.Context(), group)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderSettings(c, v)
}

type signinPut struct {
	Version           *int64 `json:"version"`
	UsernameEnabled   *bool  `json:"usernameEnabled"`
	EmailEnabled      *bool  `json:"emailEnabled"`
	ThirdPartyEnabled *bool  `json:"thirdPartyEnabled"`
}

type registrationPut struct {
	Version                  *int64    `json:"version"`
	EmailRegistrationEnabled *bool     `json:"emailRegistrationEnabled"`
	RequireEmailVerification *bool     `json:"requireEmailVerification"`
	AllowedDomains           *[]string `json:"allowedDomains"`
	AllowSubdomains          *bool     `json:"allowSubdomains"`
	BlockPlusAliases         *bool     `json:"blockPlusAliases"`
}

type emailPut struct {
	Version       *int64  `json:"version"`
	Host          *string `json:"host"`
	Port          *int    `json:"port"`
	Username      *string `json:"username"`
	Password      *string `json:"password" optional:"true"`
	SenderName    *string `json:"senderName"`
	SenderAddress *string `json:"senderAddress"`
	TLSMode       *string `json:"tlsMode"`
	// Answers of GET may be sent back as they are.
	PasswordSet *bool `json:"passwordSet" optional:"true"`
}

type humanPut struct {
	Version          *int64  `json:"version"`
	TurnstileEnabled *bool   `json:"turnstileEnabled"`
	SiteKey          *string `json:"siteKey"`
	Secret           *string `json:"secret" optional:"true"`
	SecretSet        *bool   `json:"secretSet" optional:"true"`
}

type securityPut struct {
	Version                    *int64 `json:"version"`
	SessionLifetimeSeconds     *int   `json:"sessionLifetimeSeconds"`
	SessionIdleTimeoutSeconds  *int   `json:"sessionIdleTimeoutSeconds"`
	AccessTokenLifetimeSeconds *int   `json:"accessTokenLifetimeSeconds"`
	LockThreshold              *int   `json:"lockThreshold"`
	LockDurationSeconds        *int   `json:"lockDurationSeconds"`
	RateLimitEnabled           *bool  `json:"rateLimitEnabled"`
	RateLimitPerMinute         *int   `json:"rateLimitPerMinute"`
	AuthRateLimitPerMinute     *int   `json:"authRateLimitPerMinute"`
}

type billingPut struct {
	Version  *int64  `json:"version"`
	Mode     *string `json:"mode"`
	Currency *string `json:"currency"`
}

type policyPut struct {
	Version           *int64 `json:"version"`
	MinLength         *int   `json:"minLength"`
	BlockCommon       *bool  `json:"blockCommon"`
	BlockPersonalInfo *bool  `json:"blockPersonalInfo"`
}

// adminSignInPaths is answered with GETs and may be sent back; it is ignored.
type readOnlyPaths struct {
	AdminSignInPaths any `json:"adminSignInPaths" optional:"true"`
}

// PutSettings replaces one settings group. The body is the whole group
// plus the version it was read at; a stale version is a 409.
func (h *Handler) PutSettings(c *gin.Context) {
	group := c.Param("group")
	ch := service.SettingsChange{Group: group}
	var body any
	switch group {
	case service.GroupSignin:
		body = &struct {
			signinPut
			readOnlyPaths
		}{}
	case service.GroupRegistration:
		body = &struct {
			registrationPut
			readOnlyPaths
		}{}
	case service.GroupEmail:
		body = &emailPut{}
	case service.GroupHumanVerification:
		body = &humanPut{}
	case service.GroupSecurity:
		body = &struct {
			securityPut
			readOnlyPaths
		}{}
	case service.GroupBilling:
		body = &billingPut{}
	case service.GroupPasswordPolicy:
		body = &policyPut{}
	default:
		httpx.Render(c, errUnknownGroup)
		return
	}
	if err := httpx.BindJSON(c, body); err != nil {
		httpx.Render(c, err)
		return
	}
	var missing problem.Fields
	switch b := body.(type) {
	case *struct {
		signinPut
		readOnlyPaths
	}:
		if missing = httpx.RequireAll(&b.signinPut); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Signin = &service.SigninSettings{UsernameEnabled: *b.UsernameEnabled, EmailEnabled: *b.EmailEnabled, ThirdPartyEnabled: *b.ThirdPartyEnabled}
		}
	case *struct {
		registrationPut
		readOnlyPaths
	}:
		if missing = httpx.RequireAll(&b.registrationPut); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Reg = &service.RegistrationSettings{EmailRegistrationEnabled: *b.EmailRegistrationEnabled, RequireEmailVerification: *b.RequireEmailVerification,
				AllowedDomains: *b.AllowedDomains, AllowSubdomains: *b.AllowSubdomains, BlockPlusAliases: *b.BlockPlusAliases}
		}
	case *emailPut:
		if missing = httpx.RequireAll(b); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Email = &service.EmailInput{EmailSettings: service.EmailSettings{Host: *b.Host, Port: *b.Port, Username: *b.Username,
				SenderName: *b.SenderName, SenderAddress: *b.SenderAddress, TLSMode: *b.TLSMode}, Password: b.Password}
		}
	case *humanPut:
		if missing = httpx.RequireAll(b); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Human = &service.HumanInput{TurnstileEnabled: *b.TurnstileEnabled, SiteKey: *b.SiteKey, Secret: b.Secret}
		}
	case *struct {
		securityPut
		readOnlyPaths
	}:
		if missing = httpx.RequireAll(&b.securityPut); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Sec = &service.SecuritySettings{SessionLifetimeSeconds: *b.SessionLifetimeSeconds, SessionIdleTimeoutSeconds: *b.SessionIdleTimeoutSeconds,
				AccessTokenLifetimeSeconds: *b.AccessTokenLifetimeSeconds, LockThreshold: *b.LockThreshold, LockDurationSeconds: *b.LockDurationSeconds,
				RateLimitEnabled: *b.RateLimitEnabled, RateLimitPerMinute: *b.RateLimitPerMinute, AuthRateLimitPerMinute: *b.AuthRateLimitPerMinute}
		}
	case *billingPut:
		if missing = httpx.RequireAll(b); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Billing = &service.BillingSettings{Mode: *b.Mode, Currency: *b.Currency}
		}
	case *policyPut:
		if missing = httpx.RequireAll(b); len(missing) == 0 {
			ch.Version = *b.Version
			ch.Policy = &service.PasswordPolicy{MinLength: *b.MinLength, BlockCommon: *b.BlockCommon, BlockPersonalInfo: *b.BlockPersonalInfo}
		}
	}
	if err := missing.Err(); err != nil {
		httpx.Render(c, err)
		return
	}
	v, err := h.Svc.Settings.Update(c.Request.Context(), middleware.ActorOf(c), h.Svc.Audit, ch)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderSettings(c, v)
}

type testEmailRequest struct {
	To string `json:"to"`
}

// SendTestEmail sends a test message with the stored SMTP settings.
func (h *Handler) SendTestEmail(c *gin.Context) {
	var req testEmailRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Settings.SendTestEmail(c.Request.Context(), middleware.ActorOf(c), h.Svc.Audit, req.To); err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sent": true})
}
