package service

import (
	"context"

	"github.com/uptrace/bun"

	"gatehouse/server/problem"
)

// GroupPasswordPolicy is the platform password policy.
const GroupPasswordPolicy = "password-policy"

// PasswordPolicy is the platform password policy.
type PasswordPolicy struct {
	MinLength         int  `json:"minLength"`
	BlockCommon       bool `json:"blockCommon"`
	BlockPersonalInfo bool `json:"blockPersonalInfo"`
}

// Password length bounds that no policy can move.
const (
	MinPasswordFloor  = 8
	MaxPasswordLength = 128
)

// PasswordPolicy returns the password policy.
func (s *Settings) PasswordPolicy(ctx context.Context) (PasswordPolicy, error) {
	v, _, err := getGroup[PasswordPolicy](ctx, s, s.deps.DB, GroupPasswordPolicy, true)
	return v, err
}

type passwordGroup struct{}

func init() { registerGroup(passwordGroup{}) }

func (passwordGroup) name() string { return GroupPasswordPolicy }
func (passwordGroup) defaults() any {
	return PasswordPolicy{MinLength: 10, BlockCommon: true, BlockPersonalInfo: true}
}
func (passwordGroup) input() any                              { return &passwordInput{} }
func (passwordGroup) adminSignIn() bool                       { return false }
func (passwordGroup) view(raw []byte) (map[string]any, error) { return plainView(raw) }

type passwordInput struct {
	Version           *int64 `json:"version"`
	MinLength         *int   `json:"minLength"`
	BlockCommon       *bool  `json:"blockCommon"`
	BlockPersonalInfo *bool  `json:"blockPersonalInfo"`
}

func (b *passwordInput) version() int64 { return *b.Version }

func (passwordGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*passwordInput)
	v := PasswordPolicy{MinLength: *b.MinLength, BlockCommon: *b.BlockCommon, BlockPersonalInfo: *b.BlockPersonalInfo}
	if v.MinLength < MinPasswordFloor || v.MinLength > MaxPasswordLength {
		f.Add("minLength", "must be from 8 to 128")
	}
	return v, f.Err()
}
