package api

import (
	"encoding/json"
	"time"

	"gatehouse/models"
)

// User is the public shape of an account. It has no field for any secret:
// no password hash, TOTP secret, or token can reach a response through it.
type User struct {
	PublicID         string          `json:"publicId"`
	Username         string          `json:"username"`
	DisplayName      string          `json:"displayName"`
	Email            *string         `json:"email"`
	EmailVerified    bool            `json:"emailVerified"`
	Phone            string          `json:"phone"`
	Language         string          `json:"language"`
	Timezone         string          `json:"timezone"`
	Preferences      json.RawMessage `json:"preferences"`
	Role             string          `json:"role"`
	Status           string          `json:"status"`
	StatusReason     string          `json:"statusReason"`
	Balance          int64           `json:"balance"`
	Subscription     Subscription    `json:"subscription"`
	TwoFactorEnabled bool            `json:"twoFactorEnabled"`
	TOTPEnabled      bool            `json:"authenticatorAppEnabled"`
	PasskeyCount     int             `json:"passkeyCount"`
	// SecondFactorRequired and SecondFactorDeadline are answered by
	// /api/me only: the caller must enrol a second factor now, or by then.
	SecondFactorRequired bool       `json:"secondFactorRequired,omitempty"`
	SecondFactorDeadline *time.Time `json:"secondFactorDeadline,omitempty"`
	LockedUntil          *time.Time `json:"lockedUntil"`
	LastLoginAt          *time.Time `json:"lastLoginAt"`
	CreatedAt            time.Time  `json:"createdAt"`
	UpdatedAt            time.Time  `json:"updatedAt"`
	MustChangePassword   bool       `json:"mustChangePassword"`
	HasPassword          bool       `json:"hasPassword"`
}

// Subscription is the billing state of a period-billed account.
type Subscription struct {
	PlanID    *int64     `json:"planId"`
	PlanName  *string    `json:"planName"`
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// NewUser converts a model to its public shape at time now.
func NewUser(u *models.User, now time.Time) User {
	out := User{
		PublicID: u.PublicID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email,
		EmailVerified: u.Email != nil && u.EmailVerifiedAt != nil, Phone: u.Phone, Language: u.Language,
		Timezone: u.Timezone, Preferences: json.RawMessage(u.Preferences), Role: u.Role, Status: u.Status,
		StatusReason: u.StatusReason, Balance: u.Balance, TwoFactorEnabled: u.TwoFactorEnabled(),
		TOTPEnabled: u.TOTPEnabled(), PasskeyCount: u.PasskeyCount,
		LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		MustChangePassword: u.MustChangePassword, HasPassword: u.HasPassword(),
	}
	if len(out.Preferences) == 0 {
		out.Preferences = json.RawMessage("{}")
	}
	if u.LockedAt(now) {
		out.LockedUntil = u.LockedUntil
	}
	out.Subscription = Subscription{Status: "none", PlanID: u.PlanID, ExpiresAt: u.SubscriptionExpiresAt}
	if u.Plan != nil {
		out.Subscription.PlanName = &u.Plan.Name
	}
	if u.PlanID != nil {
		out.Subscription.Status = "active"
		if u.SubscriptionExpiresAt != nil && !u.SubscriptionExpiresAt.After(now) {
			out.Subscription.Status = "expired"
		}
	}
	return out
}

// Session is one signed-in device as its owner sees it.
type Session struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	Method     string    `json:"method"`
}

// NewSession converts a model; current marks the caller's own session.
func NewSession(s *models.Session, currentID string) Session {
	return Session{ID: s.ID, Current: s.ID == currentID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent, Method: s.Method}
}

// AuditEvent is one audit row.
type AuditEvent struct {
	ID             int64           `json:"id"`
	CreatedAt      time.Time       `json:"createdAt"`
	Action         string          `json:"action"`
	ActorPublicID  string          `json:"actorPublicId"`
	ActorUsername  string          `json:"actorUsername"`
	TargetType     string          `json:"targetType"`
	TargetPublicID string          `json:"targetPublicId"`
	TargetLabel    string          `json:"targetLabel"`
	Reason         string          `json:"reason"`
	IP             string          `json:"ip"`
	UserAgent      string          `json:"userAgent"`
	Details        json.RawMessage `json:"details"`
	BatchID        string          `json:"batchId"`
}

// NewAuditEvent converts a model.
func NewAuditEvent(e *models.AuditEvent) AuditEvent {
	d := json.RawMessage(e.Details)
	if len(d) == 0 {
		d = json.RawMessage("{}")
	}
	return AuditEvent{ID: e.ID, CreatedAt: e.CreatedAt, Action: e.Action, ActorPublicID: e.ActorPublicID, ActorUsername: e.ActorUsername,
		TargetType: e.TargetType, TargetPublicID: e.TargetPublicID, TargetLabel: e.TargetLabel, Reason: e.Reason,
		IP: e.IP, UserAgent: e.UserAgent, Details: d, BatchID: e.BatchID}
}
