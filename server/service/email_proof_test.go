package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"gatehouse/models"
	"gatehouse/server/problem"
	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestEmailProof_CrossedConfirmationsNoDeadlock: two people who both hold
// one address unverified (two registrations waiting on it) open their
// confirmation links at the same moment. Whoever proves an address takes
// it and the other holders lose it, so each confirmation locks the other
// account's row (models.LockEmailHolders) and writes its own: on
// PostgreSQL the two took the same two rows in opposite orders, and one
// was aborted as a deadlock (40P01, a 500 to the person). Now a proof
// locks its own row and the holders' in one statement, in id order: the
// second waits for the first and is then told that another account uses
// the address. Every other round an administrator marks the address
// verified on the second account (the engine locks its target, then the
// holders) while the first person (the lower id) opens the link; the engine locks the
// holders with its target there too (UserPatch.preLock). SQLite runs the
// two one after the other and passes either way; the PostgreSQL pass of
// CI is the test.
func TestEmailProof_CrossedConfirmationsNoDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	var admin *testkit.User
	for round := range 60 {
		addr := fmt.Sprintf("shared%d@example.org", round)
		var pair []*models.User
		var tokens []string
		for _, name := range []string{"ann", "ben"} {
			u := app.Reload(app.CreateUser(testkit.UserSpec{Username: fmt.Sprintf("%s%d", name, round), Status: models.StatusPending}))
			u.SetEmail(addr)
			u.EmailVerifiedAt, u.EmailVouched = nil, false
			if err := models.WriteUserEmail(ctx, app.Svc.DB, u); err != nil {
				t.Fatal(err)
			}
			tok, err := service.IssueVerifyTokenForTest(ctx, app.Svc.Flows, u, addr)
			if err != nil || tok == "" {
				t.Fatalf("token: %q %v", tok, err)
			}
			pair, tokens = append(pair, u), append(tokens, tok)
		}
		if round%2 == 1 {
			// Created after the pair, so that the administrator's row
			// (locked with every such change) does not order the two.
			admin = app.SuperAdmin(fmt.Sprintf("root%d", round))
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 1 && round%2 == 1 {
					verified := true
					_, errs[i] = app.Svc.Users.Update(ctx, service.Actor{User: app.Reload(admin), IP: "192.0.2.2"}, pair[i].PublicID, service.UserPatch{EmailVerified: &verified, Reason: "checked"})
					return
				}
				_, errs[i] = app.Svc.Flows.VerifyEmail(ctx, service.Actor{IP: "192.0.2.1"}, tokens[i])
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, service.ErrEmailProvedElsewhere), errors.Is(err, service.ErrInvalidToken), refusedField(err):
			default:
				t.Fatalf("round %d, %s: %v (deadlock: %v)", round, pair[i].Username, err, strings.Contains(err.Error(), "deadlock"))
			}
		}
		holders := 0
		for _, p := range pair {
			u, err := models.UserByID(ctx, app.Svc.DB, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Email != nil && *u.Email == addr {
				holders++
				if u.EmailVerifiedAt == nil {
					t.Fatalf("round %d: %s holds the address unverified", round, u.Username)
				}
			} else if u.EmailVerifiedAt != nil {
				t.Fatalf("round %d: %s is verified without the address (%v)", round, u.Username, u.Email)
			}
		}
		if ok != 1 || holders != 1 {
			t.Fatalf("round %d: %d confirmations went through, %d accounts hold the address; errors %v", round, ok, holders, errs)
		}
	}
}

// refusedField reports an administrator's change refused with a field
// error (the address is gone, or another account proved it).
func refusedField(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && pe.Kind == problem.Invalid
}

// TestEmailProof_MailedResetCrossedWithConfirmationNoDeadlock: an account
// whose address an administrator vouched for (unverified) resets its
// password through the emailed link while a newer registration waiting
// on the same address opens its confirmation link. Following the reset
// link proves the mailbox (afterMailedReset), so each flow takes the
// address from the other and locks the other's row. The reset wrote its
// own row (the new password) before it locked the holders, while the
// confirmation locks both rows in id order (the registration's lower id
// first): on PostgreSQL each waited for the row the other held and one
// was aborted as a deadlock. Now the reset locks the holders and its own
// row in one statement before it writes anything. Exactly one account
// holds the address afterwards, verified. SQLite runs the two one after
// the other; the PostgreSQL pass of CI is the test.
func TestEmailProof_MailedResetCrossedWithConfirmationNoDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := testkit.NewApp(t)
	for round := range 40 {
		addr := fmt.Sprintf("reset%d@example.org", round)
		// The registration first, so that its row has the lower id.
		reg := app.Reload(app.CreateUser(testkit.UserSpec{Username: fmt.Sprintf("reg%d", round), Status: models.StatusPending}))
		owner := app.Reload(app.CreateUser(testkit.UserSpec{Username: fmt.Sprintf("owner%d", round)}))
		for _, u := range []*models.User{reg, owner} {
			u.SetEmail(addr)
			u.EmailVerifiedAt, u.EmailVouched = nil, u == owner
			if err := models.WriteUserEmail(ctx, app.Svc.DB, u); err != nil {
				t.Fatal(err)
			}
		}
		verifyTok, err := service.IssueVerifyTokenForTest(ctx, app.Svc.Flows, reg, addr)
		if err != nil || verifyTok == "" {
			t.Fatalf("verify token: %q %v", verifyTok, err)
		}
		resetTok, err := service.IssueResetTokenForTest(ctx, app.Svc.Flows, owner, addr)
		if err != nil || resetTok == "" {
			t.Fatalf("reset token: %q %v", resetTok, err)
		}
		var wg sync.WaitGroup
		var resetErr, verifyErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			resetErr = app.Svc.Flows.ResetPassword(ctx, service.Actor{IP: "192.0.2.1"}, resetTok, "Fresh-Reset-Passphrase-77")
		}()
		go func() {
			defer wg.Done()
			_, verifyErr = app.Svc.Flows.VerifyEmail(ctx, service.Actor{IP: "192.0.2.2"}, verifyTok)
		}()
		wg.Wait()
		if resetErr != nil {
			t.Fatalf("round %d: reset: %v (deadlock: %v)", round, resetErr, strings.Contains(resetErr.Error(), "deadlock"))
		}
		if verifyErr != nil && !errors.Is(verifyErr, service.ErrEmailProvedElsewhere) && !errors.Is(verifyErr, service.ErrInvalidToken) {
			t.Fatalf("round %d: confirmation: %v (deadlock: %v)", round, verifyErr, strings.Contains(verifyErr.Error(), "deadlock"))
		}
		holders := 0
		for _, p := range []*models.User{reg, owner} {
			u, err := models.UserByID(ctx, app.Svc.DB, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Email != nil && *u.Email == addr {
				holders++
				if u.EmailVerifiedAt == nil {
					t.Fatalf("round %d: %s holds the address unverified", round, u.Username)
				}
			} else if u.EmailVerifiedAt != nil {
				t.Fatalf("round %d: %s is verified without the address (%v)", round, u.Username, u.Email)
			}
		}
		if holders != 1 {
			t.Fatalf("round %d: %d accounts hold the address (reset %v, confirmation %v)", round, holders, resetErr, verifyErr)
		}
	}
}
