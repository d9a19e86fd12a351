package service

import (
	"context"
	"regexp"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/server/problem"
)

// GroupRegistration controls self-service registration.
const GroupRegistration = "registration"

// RegistrationSettings controls self-service registration.
type RegistrationSettings struct {
	EmailRegistrationEnabled bool     `json:"emailRegistrationEnabled"`
	RequireEmailVerification bool     `json:"requireEmailVerification"`
	AllowedDomains           []string `json:"allowedDomains"`
	AllowSubdomains          bool     `json:"allowSubdomains"`
	BlockPlusAliases         bool     `json:"blockPlusAliases"`
}

// Registration returns the registration settings.
func (s *Settings) Registration(ctx context.Context) (RegistrationSettings, error) {
	v, _, err := getGroup[RegistrationSettings](ctx, s, s.deps.DB, GroupRegistration, true)
	return v, err
}

type registrationGroup struct{}

func init() { registerGroup(registrationGroup{}) }

func (registrationGroup) name() string                            { return GroupRegistration }
func (registrationGroup) defaults() any                           { return RegistrationSettings{AllowedDomains: []string{}} }
func (registrationGroup) input() any                              { return &registrationInput{} }
func (registrationGroup) adminSignIn() bool                       { return true }
func (registrationGroup) view(raw []byte) (map[string]any, error) { return plainView(raw) }

type registrationInput struct {
	Version                  *int64    `json:"version"`
	EmailRegistrationEnabled *bool     `json:"emailRegistrationEnabled"`
	RequireEmailVerification *bool     `json:"requireEmailVerification"`
	AllowedDomains           *[]string `json:"allowedDomains"`
	AllowSubdomains          *bool     `json:"allowSubdomains"`
	BlockPlusAliases         *bool     `json:"blockPlusAliases"`
	AdminSignInPaths         any       `json:"adminSignInPaths"`
}

func (b *registrationInput) version() int64 { return *b.Version }

// errRegistrationNeedsPasswordSignin refuses the one combination in which
// people could register but never sign in: email registration on while
// neither username nor email sign-in is. Both sides are guarded (the
// registration switch and the last password sign-in method), with field
// errors and one code the console explains.
func errRegistrationNeedsPasswordSignin(f problem.Fields) error {
	return &problem.Error{Kind: problem.Invalid, Code: "registration_needs_password_signin",
		Message: "Email registration needs username or email sign-in on: people who register sign in with a password.", Fields: f}
}

var domainRe = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// normalizeDomains lower-cases, de-duplicates and checks allowed domains.
func normalizeDomains(f problem.Fields, in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	if len(in) > 200 {
		f.Add("allowedDomains", "may list at most 200 domains")
		return out
	}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if d == "" || seen[d] {
			continue
		}
		if !domainRe.MatchString(d) || len(d) > 253 {
			f.Add("allowedDomains", "\""+truncate(d, 60)+"\" is not a domain name like example.com")
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

func (registrationGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	f := problem.Fields{}
	b := in.(*registrationInput)
	v := RegistrationSettings{EmailRegistrationEnabled: *b.EmailRegistrationEnabled, RequireEmailVerification: *b.RequireEmailVerification,
		AllowedDomains: *b.AllowedDomains, AllowSubdomains: *b.AllowSubdomains, BlockPlusAliases: *b.BlockPlusAliases}
	v.AllowedDomains = normalizeDomains(f, v.AllowedDomains)
	if v.EmailRegistrationEnabled {
		signin, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
		if err != nil {
			return nil, err
		}
		if !signin.UsernameEnabled && !signin.EmailEnabled {
			return nil, errRegistrationNeedsPasswordSignin(problem.Fields{
				"emailRegistrationEnabled": "needs username or email sign-in on: people who register sign in with a password",
			})
		}
	}
	if v.RequireEmailVerification {
		email, _, err := getGroup[EmailSettings](ctx, s, tx, GroupEmail, false)
		if err != nil {
			return nil, err
		}
		if !email.Configured() {
			f.Add("requireEmailVerification", "needs SMTP configured first (Email settings: host and sender address)")
		}
	}
	return v, f.Err()
}
