package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// SuperAdminsWithoutWayIn lists, as db stands (inside a transaction: as
// it will commit), the active super administrators who could not sign in
// by any path that signin leaves on: a password with username sign-in, a
// password and an email with email sign-in, or, while third-party sign-in
// is on, an identity at a provider whose login control is on.
//
// Take it before a change and hand it to GuardSuperAdminsWayIn after the
// change, in the same transaction: any account change, provider change or
// settings change can be checked this way.
func SuperAdminsWithoutWayIn(ctx context.Context, db bun.IDB, signin SigninSettings) ([]DependentAccount, error) {
	ways, args := wayInWhere(signin)
	q := db.NewSelect().Model((*models.User)(nil)).Column("u.public_id", "u.username", "u.role").
		Where("u.role = ?", models.RoleSuperAdmin).
		Where("u.status = ?", models.StatusActive).
		Where("NOT ("+ways+")", args...)
	out := []DependentAccount{}
	err := q.Order("u.username_lower").Scan(ctx, &out)
	return out, err
}

// How an account signs in, per path (the user table is aliased u). A
// password is a non-empty hash (models.User.HasPassword). By email only
// with an address sign-in finds: verified, or vouched for by an
// administrator or the shell (models.UserByEmail; emailSignInAddress).
const (
	byPassword = "u.password_hash IS NOT NULL AND u.password_hash <> ''"
	byEmail    = "u.password_hash IS NOT NULL AND u.password_hash <> '' AND u.email IS NOT NULL AND (u.email_verified_at IS NOT NULL OR u.email_vouched = TRUE)"
	byProvider = "EXISTS (SELECT 1 FROM user_identities AS i JOIN identity_providers AS p ON p.id = i.provider_id WHERE i.user_id = u.id AND p.login_enabled = ?)"
	// A passkey signs in on its own (passwordless), whatever the settings.
	byPasskey = "u.passkey_count > 0"
)

// wayInWhere is the one rule "which sign-in paths count": the condition,
// as SQL text with ? arguments, that an account (aliased u) can sign in by
// some path signin leaves on: a password with username sign-in, a
// password and an address with email sign-in, an identity at a provider
// whose login is on while third-party sign-in is on, or a passkey. Both
// guards use it: the super administrators' way in (SuperAdminsWithoutWayIn)
// and the last administrator who can sign in (adminAccess). The text
// depends on the settings alone (prepared statements key on it).
func wayInWhere(signin SigninSettings) (string, []any) {
	ways := []string{byPasskey}
	var args []any
	if signin.UsernameEnabled {
		ways = append(ways, byPassword)
	}
	if signin.EmailEnabled {
		ways = append(ways, byEmail)
	}
	if signin.ThirdPartyEnabled {
		ways = append(ways, byProvider)
		args = append(args, true)
	}
	return "(" + strings.Join(ways, ") OR (") + ")", args
}

// GuardSuperAdminsWayIn refuses a change already written in db (the error
// rolls it back) after which an active super administrator who could sign
// in before no longer can. before is SuperAdminsWithoutWayIn taken before
// the change; signin is the sign-in settings after it. The refusal (409
// would_cut_off_super_admins) names the accounts in its message and lists
// them under "accounts".
func GuardSuperAdminsWayIn(ctx context.Context, db bun.IDB, signin SigninSettings, before []DependentAccount) error {
	after, err := SuperAdminsWithoutWayIn(ctx, db, signin)
	if err != nil {
		return err
	}
	already := map[string]bool{}
	for _, a := range before {
		already[a.PublicID] = true
	}
	cut := []DependentAccount{}
	names := []string{}
	for _, a := range after {
		if !already[a.PublicID] {
			cut = append(cut, a)
			names = append(names, a.Username)
		}
	}
	if len(cut) == 0 {
		return nil
	}
	who := "1 super administrator"
	if len(cut) > 1 {
		who = fmt.Sprintf("%d super administrators", len(cut))
	}
	e := problem.New(problem.Conflict, "would_cut_off_super_admins", fmt.Sprintf(
		"After this change %s could no longer sign in (%s): this is their only way in. Give them a password or another way in first.",
		who, strings.Join(names, ", "))).With("count", len(cut), "names", strings.Join(names, ", "))
	e.Extra = map[string]any{"accounts": cut}
	return e
}
