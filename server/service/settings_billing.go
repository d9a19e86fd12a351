package service

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/server/problem"
)

// GroupBilling is the platform billing mode.
const GroupBilling = "billing"

// BillingSettings is the platform billing mode: which account fields are
// in use (period: plan and expiry; usage: balance; self: neither).
type BillingSettings struct {
	Mode     string `json:"mode"`
	Currency string `json:"currency"`
}

// Billing returns the billing mode. Every service API request reads it,
// so the decoded value is cached with the raw JSON (as Security).
func (s *Settings) Billing(ctx context.Context) (BillingSettings, error) {
	s.mu.Lock()
	c, ok := s.cache[GroupBilling]
	epoch := s.epoch
	s.mu.Unlock()
	if v, decoded := c.value.(BillingSettings); ok && decoded && c.epoch == epoch && time.Since(c.at) < cacheTTL {
		return v, nil
	}
	v, version, err := getGroup[BillingSettings](ctx, s, s.deps.DB, GroupBilling, true)
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	if c, ok := s.cache[GroupBilling]; ok && c.version == version {
		c.value = v
		s.cache[GroupBilling] = c
	}
	s.mu.Unlock()
	return v, nil
}

type billingGroup struct{}

func init() { registerGroup(billingGroup{}) }

func (billingGroup) name() string                            { return GroupBilling }
func (billingGroup) defaults() any                           { return BillingSettings{Mode: "self", Currency: "USD"} }
func (billingGroup) input() any                              { return &billingInput{} }
func (billingGroup) adminSignIn() bool                       { return false }
func (billingGroup) view(raw []byte) (map[string]any, error) { return plainView(raw) }

type billingInput struct {
	Version  *int64  `json:"version"`
	Mode     *string `json:"mode"`
	Currency *string `json:"currency"`
}

func (b *billingInput) version() int64 { return *b.Version }

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

func (billingGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*billingInput)
	v := BillingSettings{Mode: *b.Mode, Currency: *b.Currency}
	switch v.Mode {
	case "self", "period", "usage":
	default:
		f.Add("mode", "must be self, period or usage")
	}
	v.Currency = strings.ToUpper(strings.TrimSpace(v.Currency))
	if !currencyRe.MatchString(v.Currency) {
		f.Add("currency", "must be a three-letter ISO 4217 code such as USD")
	}
	return v, f.Err()
}
