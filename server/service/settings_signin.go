package service

import (
	"context"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// GroupSignin says which sign-in methods are on.
const GroupSignin = "signin"

// SigninSettings says which sign-in methods are on.
type SigninSettings struct {
	UsernameEnabled   bool `json:"usernameEnabled"`
	EmailEnabled      bool `json:"emailEnabled"`
	ThirdPartyEnabled bool `json:"thirdPartyEnabled"`
}

// Signin returns the sign-in methods.
func (s *Settings) Signin(ctx context.Context) (SigninSettings, error) {
	v, _, err := getGroup[SigninSettings](ctx, s, s.deps.DB, GroupSignin, true)
	return v, err
}

type signinGroup struct{}

func init() { registerGroup(signinGroup{}) }

func (signinGroup) name() string                            { return GroupSignin }
func (signinGroup) defaults() any                           { return SigninSettings{UsernameEnabled: true, EmailEnabled: true} }
func (signinGroup) input() any                              { return &signinInput{} }
func (signinGroup) adminSignIn() bool                       { return true }
func (signinGroup) view(raw []byte) (map[string]any, error) { return plainView(raw) }

// lock: every change that can take away an administrator's way in holds
// the administrator-access lock (see lockAdminAccess).
func (signinGroup) lock(ctx context.Context, tx bun.IDB) error { return lockAdminAccess(ctx, tx) }

// signinInput is a PUT of the group (adminSignInPaths, answered by GET, may
// be sent back and is ignored).
type signinInput struct {
	Version           *int64 `json:"version"`
	UsernameEnabled   *bool  `json:"usernameEnabled"`
	EmailEnabled      *bool  `json:"emailEnabled"`
	ThirdPartyEnabled *bool  `json:"thirdPartyEnabled"`
	AdminSignInPaths  any    `json:"adminSignInPaths"`
}

func (b *signinInput) version() int64 { return *b.Version }

// errThirdPartySuperAdmin refuses turning third-party sign-in on to a
// plain administrator: it opens the accounts to the configured providers.
var errThirdPartySuperAdmin = problem.New(problem.Forbidden, "super_admin_required", "Only a super administrator may turn third-party sign-in on.").WithField("thirdPartyEnabled", "only a super administrator may turn this on")

func (signinGroup) validate(ctx context.Context, s *Settings, tx bun.IDB, actor Actor, in any) (any, error) {
	b := in.(*signinInput)
	v := SigninSettings{UsernameEnabled: *b.UsernameEnabled, EmailEnabled: *b.EmailEnabled, ThirdPartyEnabled: *b.ThirdPartyEnabled}
	// Turning third-party sign-in on is reserved to super administrators.
	if v.ThirdPartyEnabled && (actor.User == nil || actor.User.Role != models.RoleSuperAdmin) {
		cur, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
		if err != nil {
			return nil, err
		}
		if !cur.ThirdPartyEnabled {
			return nil, errThirdPartySuperAdmin
		}
	}
	paths, err := adminSignIn(ctx, tx, v)
	if err != nil {
		return nil, err
	}
	if !v.UsernameEnabled && !v.EmailEnabled && !(v.ThirdPartyEnabled && paths.adminProviderPath()) {
		return nil, problem.New(problem.Conflict, "password_signin_required", "Username and email sign-in may both be off only while third-party sign-in is on and an active administrator has a linked identity at an enabled provider.")
	}
	if paths.Total == 0 {
		return nil, ErrNoAdminPath
	}
	// Turning third-party sign-in off turns every provider off: like
	// turning one provider's login off, it may not take a super
	// administrator's only way in.
	cur, _, err := getGroup[SigninSettings](ctx, s, tx, GroupSignin, false)
	if err != nil {
		return nil, err
	}
	if cur.ThirdPartyEnabled && !v.ThirdPartyEnabled {
		superBefore, err := SuperAdminsWithoutWayIn(ctx, tx, cur)
		if err != nil {
			return nil, err
		}
		if err := GuardSuperAdminsWayIn(ctx, tx, v, superBefore); err != nil {
			return nil, err
		}
	}
	if !v.UsernameEnabled && !v.EmailEnabled {
		reg, _, err := getGroup[RegistrationSettings](ctx, s, tx, GroupRegistration, false)
		if err != nil {
			return nil, err
		}
		if reg.EmailRegistrationEnabled {
			return nil, errRegistrationNeedsPasswordSignin(problem.Fields{
				"usernameEnabled": "email registration is on, and people who register sign in with a password; turn email registration off first",
				"emailEnabled":    "email registration is on, and people who register sign in with a password; turn email registration off first",
			})
		}
	}
	return v, nil
}
