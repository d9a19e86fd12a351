package service

import (
	"context"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Bulk actions.
const (
	BulkSetRole     = "set_role"
	BulkSetStatus   = "set_status"
	BulkSetTimezone = "set_timezone"
	BulkSetBalance  = "set_balance"
	BulkAddBalance  = "add_balance"
	BulkDelete      = "delete"
	BulkSetLanguage = "set_language"
	BulkUnlock      = "unlock"
	BulkReset2FA    = "reset_2fa"
	BulkRevoke      = "revoke_sessions"
)

// Bulk size caps: explicit ID lists, and accounts matched by a filter.
const (
	MaxBulkIDs     = 10_000
	MaxBulkTargets = 200_000
)

// BulkRequest is one bulk action over selected accounts or a filter.
type BulkRequest struct {
	Action      string
	PublicIDs   []string
	Filter      *models.UserFilter
	Role        string
	Status      string
	Timezone    string
	Language    string
	Amount      int64
	AllowNeg    bool
	Reason      string
	DryRun      bool
	SkipRefused bool
}

// BulkRefusal names a target a rule refuses, and why.
type BulkRefusal struct {
	PublicID string `json:"publicId"`
	Username string `json:"username"`
	Code     string `json:"code"`
	Message  string `json:"message"`

	err *problem.Error // the refusal itself, answered by a single-account endpoint
	id  int64          // the account's internal ID (0 for an unknown public ID)
}

// BulkResult is the outcome (or, in a dry run, the preview) of a bulk action.
type BulkResult struct {
	DryRun  bool          `json:"dryRun"`
	BatchID string        `json:"batchId"`
	Matched int           `json:"matched"`
	Changed int           `json:"changed"`
	Refused []BulkRefusal `json:"refused"`
}

// change maps a bulk request to its change kind.
func (r *BulkRequest) change() (AccountChange, error) {
	switch r.Action {
	case BulkSetRole:
		return &UserPatch{Role: &r.Role}, nil
	case BulkSetStatus:
		return StatusChange{Status: r.Status}, nil
	case BulkSetTimezone:
		return &UserPatch{Timezone: &r.Timezone}, nil
	case BulkSetLanguage:
		return &UserPatch{Language: &r.Language}, nil
	case BulkSetBalance:
		return BalanceChange{Mode: "set", Amount: r.Amount, AllowNegative: r.AllowNeg}, nil
	case BulkAddBalance:
		return BalanceChange{Mode: "add", Amount: r.Amount, AllowNegative: r.AllowNeg}, nil
	case BulkDelete:
		return DeleteChange{}, nil
	case BulkUnlock:
		return UnlockChange{}, nil
	case BulkReset2FA:
		return ResetTwoFactorChange{}, nil
	case BulkRevoke:
		return &RevokeSessionsChange{}, nil
	}
	return nil, problem.Fields{"action": "must be set_role, set_status, set_timezone, set_language, set_balance, add_balance, delete, unlock, reset_2fa or revoke_sessions"}.Err()
}

func (r *BulkRequest) validate() error {
	f := problem.Fields{}
	if (len(r.PublicIDs) == 0) == (r.Filter == nil) {
		f.Add("publicIds", "give either publicIds or a filter")
	}
	if len(r.PublicIDs) > MaxBulkIDs {
		return &problem.Error{Kind: problem.TooLarge, Code: "too_many_targets", Message: "A bulk request may name at most 10000 accounts; use a filter for more."}
	}
	if len(r.Reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	return f.Err()
}

// Bulk runs (or previews) a bulk action through the account-change engine
// (Apply): the real run re-reads its targets under lock and re-checks every
// rule inside one transaction, and changes all of them or none.
func (s *Users) Bulk(ctx context.Context, actor Actor, r BulkRequest) (*BulkResult, error) {
	ch, err := r.change()
	if err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return s.Apply(ctx, actor, Targets{PublicIDs: r.PublicIDs, Filter: r.Filter}, ch, ApplyOptions{DryRun: r.DryRun, SkipRefused: r.SkipRefused, Reason: r.Reason})
}
