package server

import (
	"github.com/gin-gonic/gin"

	"gatehouse/server/api"
	mw "gatehouse/server/middleware"
	"gatehouse/server/service"
)

// keyRoutes are the only routes a service API key may call, each with the
// scope it needs; every other route answers a key 403 api_key_not_allowed
// (mw.KeyGate). Keys read and change accounts as an administrator would
// (never a super administrator's account, never granting that role; the
// change goes through the account-change engine and is audited with the
// key as actor), read ledgers and the audit log, and use the service API.
// Creating or deleting accounts, resets, exports, bulk actions, settings,
// plans, providers, keys themselves and everything under /me and /auth
// stay with people.
var keyRoutes = mw.KeyRoutes{
	"GET /api/admin/users":                            service.ScopeUsersRead,
	"GET /api/admin/users/:publicId":                  service.ScopeUsersRead,
	"PATCH /api/admin/users/:publicId":                service.ScopeUsersWrite,
	"POST /api/admin/users/:publicId/status":          service.ScopeUsersWrite,
	"POST /api/admin/users/:publicId/revoke-sessions": service.ScopeUsersWrite,
	"GET /api/admin/users/:publicId/ledger":           service.ScopeBillingRead,
	"GET /api/admin/audit":                            service.ScopeAuditRead,
	"GET /api/service/entitlements/:account":          service.ScopeBillingRead,
	"POST /api/service/usage/charges":                 service.ScopeBillingCharge,
	"POST /api/service/usage/batch":                   service.ScopeBillingCharge,
}

// routes is the one route table; read it top to bottom.
// Health, readiness and the API document are neither authenticated nor
// rate limited; everything after a.Use is both.
func routes(r *gin.Engine, h *api.Handler, authn gin.HandlerFunc, rl *mw.RateLimiter) {
	strict := rl.Limit(mw.ScopeAuth)
	// The OpenID Provider (issuer: the base URL). The protocol endpoints are
	// the op library's; the sign-in step and logout see the session.
	o := r.Group("", mw.StrictQuery(), h.FreshSettings, rl.Limit(mw.ScopeAPI))
	o.GET("/.well-known/openid-configuration", h.OpenIDDiscovery)
	o.GET("/oauth/keys", h.OpenIDProvider)
	o.GET("/oauth/authorize", h.Authorize)
	o.POST("/oauth/authorize", h.Authorize) // OpenID Connect Core 3.1.2.1: GET and POST
	o.GET("/oauth/authorize/callback", h.AuthorizeCallback)
	o.GET("/oauth/resume", authn, h.ResumeAuthorize)
	o.POST("/oauth/token", h.OpenIDProvider)
	o.GET("/oauth/userinfo", h.OpenIDProvider)
	o.POST("/oauth/userinfo", h.OpenIDProvider)
	o.POST("/oauth/revoke", h.OpenIDProvider)
	o.POST("/oauth/introspect", h.OpenIDProvider)
	o.GET("/oauth/end_session", authn, h.EndSession)
	o.POST("/oauth/end_session", h.EndSessionByPOST) // RP-Initiated Logout 1.0 §2: GET and POST

	a := r.Group("/api")
	a.GET("/health", h.Health)
	a.GET("/ready", h.Ready)
	a.GET("/openapi.json", h.OpenAPI)
	// Forward auth answers a reverse proxy on every request to a protected
	// app: not rate limited (all of an app's visitors may come from the
	// proxy's one address), and it reads only the session cookie (an app's
	// own Authorization header is none of Gatehouse's business).
	a.GET("/forward-auth", mw.StrictQuery(), h.FreshSettings, h.ForwardAuth)

	a.Use(mw.StrictQuery(), h.FreshSettings, rl.Limit(mw.ScopeAPI), authn, mw.KeyGate(keyRoutes))
	a.GET("/setup/status", h.SetupStatus)
	a.POST("/setup", strict, h.Setup)

	a.GET("/auth/options", h.AuthOptions)
	a.POST("/auth/login", strict, h.Login)
	a.POST("/auth/mfa", strict, h.CompleteMFA)
	a.GET("/auth/mfa", h.MFAMethods)
	a.POST("/auth/mfa/passkey/options", strict, h.MFAPasskeyOptions)
	a.POST("/auth/mfa/passkey", strict, h.MFAPasskey)
	a.POST("/auth/passkey/options", strict, h.PasskeyOptions)
	a.POST("/auth/passkey", strict, h.PasskeySignIn)
	a.POST("/auth/logout", h.Logout)
	a.POST("/auth/register", strict, h.Register)
	a.POST("/auth/verify-email", strict, h.VerifyEmail)
	a.POST("/auth/resend-verification", strict, h.ResendVerification)
	a.POST("/auth/forgot-password", strict, h.ForgotPassword)
	a.POST("/auth/reset-password", strict, h.ResetPassword)
	a.POST("/auth/tokens", mw.RequireUser(), mw.PasswordChangeGate(), h.SecondFactorGate(), h.IssueToken)
	a.GET("/auth/oidc/:slug/start", strict, h.ProviderStart)
	a.GET("/auth/oidc/:slug/callback", strict, h.ProviderCallback)
	a.GET("/forward-auth/sign-in", h.ForwardSignIn)

	// The service API: service API keys only (see keyRoutes).
	svc := a.Group("/service", mw.RequireKey())
	svc.GET("/entitlements/:account", h.GetEntitlement)
	svc.POST("/usage/charges", h.ChargeUsage)
	svc.POST("/usage/batch", h.ChargeUsageBatch)
	// The consent page's API (the OpenID Provider, third-party applications).
	a.GET("/oauth/consent/:requestId", mw.RequireUser(), mw.PasswordChangeGate(), h.SecondFactorGate(), h.GetConsentRequest)
	a.POST("/oauth/consent/:requestId", mw.RequireUser(), mw.PasswordChangeGate(), h.SecondFactorGate(), h.AnswerConsentRequest)

	me := a.Group("/me", mw.RequireUser(), mw.PasswordChangeGate(), h.SecondFactorGate())
	me.GET("", h.Me)
	me.PATCH("", h.UpdateMe)
	me.POST("/password", strict, h.ChangePassword)
	me.POST("/email", strict, h.ChangeMyEmail)
	me.GET("/sessions", h.MySessions)
	me.DELETE("/sessions", h.RevokeMyOtherSessions)
	me.DELETE("/sessions/:id", h.RevokeMySession)
	me.POST("/2fa/setup", strict, h.SetupTwoFactor)
	me.POST("/2fa/enable", strict, h.EnableTwoFactor)
	me.POST("/2fa/disable", strict, h.DisableTwoFactor)
	me.POST("/2fa/recovery-codes", strict, h.RegenerateRecoveryCodes)
	me.GET("/sign-ins", h.MySignIns)
	me.GET("/passkeys", h.MyPasskeys)
	me.POST("/passkeys/options", strict, h.PasskeyRegistrationOptions)
	me.POST("/passkeys", strict, h.AddPasskey)
	me.PATCH("/passkeys/:id", h.RenamePasskey)
	me.DELETE("/passkeys/:id", strict, h.RemovePasskey)
	me.GET("/identities", h.MyIdentities)
	me.POST("/identities/:slug/link", strict, h.LinkIdentity)
	me.DELETE("/identities/:id", h.UnlinkIdentity)
	me.GET("/app-grants", h.MyAppGrants)
	me.DELETE("/app-grants/:clientId", h.RevokeMyAppGrant)

	admin := a.Group("/admin", mw.RequireAdmin(), mw.PasswordChangeGate(), h.SecondFactorGate())
	// Identity providers decide who may enter which account: administrators
	// read them, only super administrators change them.
	super := mw.RequireSuperAdmin("Only a super administrator may add, change, order, discover or delete identity providers; administrators may read them.")
	admin.GET("/users", h.ListUsers)
	admin.POST("/users", h.CreateUser)
	admin.GET("/users/export.csv", h.ExportUsers)
	admin.POST("/users/bulk", h.BulkUsers)
	admin.GET("/users/:publicId", h.GetUser)
	admin.PATCH("/users/:publicId", h.UpdateUser)
	admin.DELETE("/users/:publicId", h.DeleteUser)
	admin.POST("/users/:publicId/status", h.SetUserStatus)
	admin.POST("/users/:publicId/balance", h.ChangeUserBalance)
	admin.GET("/users/:publicId/ledger", h.UserLedger)
	admin.GET("/users/:publicId/sessions", h.UserSessions)
	admin.GET("/users/:publicId/sign-ins", h.UserSignIns)
	admin.POST("/users/:publicId/revoke-sessions", h.RevokeUserSessions)
	admin.POST("/users/:publicId/unlock", h.UnlockUser)
	admin.POST("/users/:publicId/reset-password", h.AdminResetPassword)
	admin.POST("/users/:publicId/reset-2fa", h.AdminResetTwoFactor)
	admin.GET("/users/:publicId/identities", h.UserIdentities)
	admin.POST("/users/:publicId/identities/:id/unlink", h.AdminUnlinkIdentity)
	admin.GET("/plans", h.ListPlans)
	admin.POST("/plans", h.CreatePlan)
	admin.PATCH("/plans/:id", h.UpdatePlan)
	admin.DELETE("/plans/:id", h.DeletePlan)
	admin.GET("/audit", h.ListAudit)
	admin.GET("/settings/:group", h.GetSettings)
	admin.PUT("/settings/:group", h.PutSettings)
	admin.POST("/settings/email/test", h.SendTestEmail)
	admin.GET("/identity-providers", h.ListProviders)
	admin.POST("/identity-providers", super, h.CreateProvider)
	admin.POST("/identity-providers/order", super, h.ReorderProviders)
	admin.POST("/identity-providers/discover", super, h.DiscoverProvider)
	admin.GET("/identity-providers/:id", h.GetProvider)
	admin.PATCH("/identity-providers/:id", super, h.UpdateProvider)
	admin.DELETE("/identity-providers/:id", super, h.DeleteProvider)
	// Applications (OAuth clients) sign people in through Gatehouse:
	// administrators read them, super administrators change them.
	appSuper := mw.RequireSuperAdmin("Only a super administrator may add, change or delete applications or rotate their secrets; administrators may read them.")
	admin.GET("/applications", h.ListApplications)
	admin.POST("/applications", appSuper, h.CreateApplication)
	admin.GET("/applications/:id", h.GetApplication)
	admin.PATCH("/applications/:id", appSuper, h.UpdateApplication)
	admin.DELETE("/applications/:id", appSuper, h.DeleteApplication)
	admin.POST("/applications/:id/secret", appSuper, h.RotateApplicationSecret)
	// Protected apps decide who passes forward auth: administrators read
	// them, only super administrators change them.
	appsSuper := mw.RequireSuperAdmin("Only a super administrator may add, change or delete protected apps; administrators may read them.")
	admin.GET("/protected-apps", h.ListProtectedApps)
	admin.POST("/protected-apps", appsSuper, h.CreateProtectedApp)
	admin.GET("/protected-apps/:id", h.GetProtectedApp)
	admin.PATCH("/protected-apps/:id", appsSuper, h.UpdateProtectedApp)
	admin.DELETE("/protected-apps/:id", appsSuper, h.DeleteProtectedApp)
	// The mail outbox: administrators read, super administrators retry or
	// discard.
	outboxSuper := mw.RequireSuperAdmin("Only a super administrator may retry or discard an email; administrators may read the outbox.")
	admin.GET("/outbox", h.ListOutbox)
	admin.POST("/outbox/:id/retry", outboxSuper, h.RetryOutboxMail)
	admin.POST("/outbox/:id/discard", outboxSuper, h.DiscardOutboxMail)
	// Service API keys: administrators read, super administrators create
	// and revoke.
	keySuper := mw.RequireSuperAdmin("Only a super administrator may create or revoke API keys; administrators may read them.")
	admin.GET("/api-keys", h.ListAPIKeys)
	admin.POST("/api-keys", keySuper, h.CreateAPIKey)
	admin.POST("/api-keys/:id/revoke", keySuper, h.RevokeAPIKey)
	// Webhooks: administrators read endpoints and their delivery logs, super
	// administrators change them, rotate secrets and resend.
	hooksSuper := mw.RequireSuperAdmin("Only a super administrator may add, change or delete webhooks, rotate their secrets or resend; administrators may read them.")
	admin.GET("/webhooks", h.ListWebhooks)
	admin.POST("/webhooks", hooksSuper, h.CreateWebhook)
	admin.GET("/webhooks/:id", h.GetWebhook)
	admin.PATCH("/webhooks/:id", hooksSuper, h.UpdateWebhook)
	admin.DELETE("/webhooks/:id", hooksSuper, h.DeleteWebhook)
	admin.POST("/webhooks/:id/rotate-secret", hooksSuper, h.RotateWebhookSecret)
	admin.GET("/webhooks/:id/deliveries", h.ListWebhookDeliveries)
	admin.POST("/webhooks/:id/deliveries/:deliveryId/resend", hooksSuper, h.ResendWebhookDelivery)
}

// KeyRouteScopes answers a copy of keyRoutes (for tests and documentation).
func KeyRouteScopes() map[string]string {
	out := make(map[string]string, len(keyRoutes))
	for k, v := range keyRoutes {
		out[k] = v
	}
	return out
}
