package api

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// maxCredentialBytes bounds an authenticator's answer (a registration
// carries a public key and attestation; "none" attestation is small).
const maxCredentialBytes = 64 << 10

func renderCeremony(c *gin.Context, cer *service.Ceremony) {
	c.JSON(http.StatusOK, gin.H{"ceremony": cer.Token, "publicKey": cer.Options})
}

type passkeyOptionsRequest struct {
	// Conditional asks for options for the sign-in page's autofill
	// (conditional mediation) rather than a button press.
	Conditional bool `json:"conditional"`
}

func (r *passkeyOptionsRequest) Validate() error { return nil }

type passkeyAnswer struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
}

func (r *passkeyAnswer) Validate() error {
	f := problem.Fields{}
	if r.Ceremony == "" || len(r.Ceremony) > 100 {
		f.Add("ceremony", "is required")
	}
	if len(r.Credential) == 0 || string(r.Credential) == "null" {
		f.Add("credential", "is required")
	} else if len(r.Credential) > maxCredentialBytes {
		f.Add("credential", "is too large")
	}
	return f.Err()
}

// PasskeyOptions starts a passwordless sign-in with a discoverable passkey.
func (h *Handler) PasskeyOptions(c *gin.Context) {
	var req passkeyOptionsRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	cer, err := h.Svc.Passkeys.BeginPasswordless(c.Request.Context(), req.Conditional)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderCeremony(c, cer)
}

// PasskeySignIn finishes a passwordless sign-in and starts a new session.
func (h *Handler) PasskeySignIn(c *gin.Context) {
	var req passkeyAnswer
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	res, err := h.Svc.Passkeys.FinishPasswordless(c.Request.Context(), middleware.ActorOf(c), req.Ceremony, req.Credential)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.Challenge.Clear(c.Writer, c.Request)
	if !h.setSessionCookie(c, res) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": h.signedInUser(c, res.User)})
}

// MFAMethods names the second factors the account at the password step's
// challenge can use.
func (h *Handler) MFAMethods(c *gin.Context) {
	methods, err := h.Svc.Auth.SecondFactorMethods(c.Request.Context(), h.Challenge.Token(c.Request))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"methods": methods})
}

// MFAPasskeyOptions starts a passkey ceremony as the second factor.
func (h *Handler) MFAPasskeyOptions(c *gin.Context) {
	cer, err := h.Svc.Passkeys.BeginSecondStep(c.Request.Context(), h.Challenge.Token(c.Request))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderCeremony(c, cer)
}

// MFAPasskey finishes the second step with a passkey.
func (h *Handler) MFAPasskey(c *gin.Context) {
	var req passkeyAnswer
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	res, err := h.Svc.Passkeys.FinishSecondStep(c.Request.Context(), middleware.ActorOf(c), h.Challenge.Token(c.Request), req.Ceremony, req.Credential)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.Challenge.Clear(c.Writer, c.Request)
	if !h.setSessionCookie(c, res) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": h.signedInUser(c, res.User)})
}

// MyPasskeys lists the caller's passkeys.
func (h *Handler) MyPasskeys(c *gin.Context) {
	list, err := h.Svc.Passkeys.List(c.Request.Context(), middleware.ActorOf(c))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
}

// PasskeyRegistrationOptions starts adding a passkey (after the password).
func (h *Handler) PasskeyRegistrationOptions(c *gin.Context) {
	var req reauthRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	cer, err := h.Svc.Passkeys.BeginRegistration(c.Request.Context(), middleware.ActorOf(c), req.Password)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	renderCeremony(c, cer)
}

type addPasskeyRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

func (r *addPasskeyRequest) Validate() error {
	a := passkeyAnswer{Ceremony: r.Ceremony, Credential: r.Credential}
	if err := a.Validate(); err != nil {
		return err
	}
	_, err := service.CleanPasskeyName(r.Name)
	return err
}

// AddPasskey stores the passkey the authenticator created.
func (h *Handler) AddPasskey(c *gin.Context) {
	var req addPasskeyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	v, err := h.Svc.Passkeys.FinishRegistration(c.Request.Context(), middleware.ActorOf(c), req.Ceremony, req.Name, req.Credential)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, v)
}

type renamePasskeyRequest struct {
	Name string `json:"name"`
}

func (r *renamePasskeyRequest) Validate() error {
	_, err := service.CleanPasskeyName(r.Name)
	return err
}

// RenamePasskey renames one of the caller's passkeys.
func (h *Handler) RenamePasskey(c *gin.Context) {
	var req renamePasskeyRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	v, err := h.Svc.Passkeys.Rename(c.Request.Context(), middleware.ActorOf(c), c.Param("id"), req.Name)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

// RemovePasskey removes one of the caller's passkeys (after the password).
func (h *Handler) RemovePasskey(c *gin.Context) {
	var req reauthRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if err := h.Svc.Passkeys.Remove(c.Request.Context(), middleware.ActorOf(c), c.Param("id"), req.Password); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
