package service

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/server/problem"
)

// GroupHumanVerification is the Cloudflare Turnstile configuration.
const GroupHumanVerification = "human-verification"

// HumanVerification is the Cloudflare Turnstile configuration.
type HumanVerification struct {
	TurnstileEnabled bool   `json:"turnstileEnabled"`
	SiteKey          string `json:"siteKey"`
	SecretSealed     string `json:"secretSealed"`
}

// HumanVerification returns the Turnstile settings (secret still sealed).
func (s *Settings) HumanVerification(ctx context.Context) (HumanVerification, error) {
	v, _, err := getGroup[HumanVerification](ctx, s, s.deps.DB, GroupHumanVerification, true)
	return v, err
}

type humanGroup struct{}

func init() { registerGroup(humanGroup{}) }

func (humanGroup) name() string      { return GroupHumanVerification }
func (humanGroup) defaults() any     { return HumanVerification{} }
func (humanGroup) input() any        { return &humanInput{} }
func (humanGroup) adminSignIn() bool { return false }

// view answers the group with secretSet instead of the sealed secret.
func (humanGroup) view(raw []byte) (map[string]any, error) {
	var h HumanVerification
	if err := jsonUnmarshal(raw, &h); err != nil {
		return nil, err
	}
	return map[string]any{"turnstileEnabled": h.TurnstileEnabled, "siteKey": h.SiteKey, "secretSet": h.SecretSealed != ""}, nil
}

// humanInput is a PUT of the group; Secret nil keeps the stored one.
type humanInput struct {
	Version          *int64  `json:"version"`
	TurnstileEnabled *bool   `json:"turnstileEnabled"`
	SiteKey          *string `json:"siteKey"`
	Secret           *string `json:"secret" optional:"true"`
	SecretSet        *bool   `json:"secretSet" optional:"true"`
}

func (b *humanInput) version() int64 { return *b.Version }

func (humanGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*humanInput)
	cur, _, err := getGroup[HumanVerification](ctx, s, tx, GroupHumanVerification, false)
	if err != nil {
		return nil, err
	}
	v := HumanVerification{TurnstileEnabled: *b.TurnstileEnabled, SiteKey: strings.TrimSpace(*b.SiteKey), SecretSealed: cur.SecretSealed}
	if len(v.SiteKey) > 200 {
		f.Add("siteKey", "must be at most 200 characters")
	}
	if p := b.Secret; p != nil {
		if *p == "" {
			v.SecretSealed = ""
		} else if len(*p) > 200 {
			f.Add("secret", "must be at most 200 characters")
		} else if v.SecretSealed, err = s.deps.Box.Seal(*p); err != nil {
			return nil, err
		}
	}
	if v.TurnstileEnabled {
		reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
		if err != nil {
			return nil, err
		}
		if !reg.EmailRegistrationEnabled {
			f.Add("turnstileEnabled", "applies to email registration only; turn email registration on first")
		}
		if v.SiteKey == "" {
			f.Add("siteKey", "is required to turn Turnstile on")
		}
		if v.SecretSealed == "" {
			f.Add("secret", "is required to turn Turnstile on")
		}
	}
	return v, f.Err()
}
