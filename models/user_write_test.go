package models_test

import (
	"context"
	"testing"

	"gatehouse/models"
	"gatehouse/server/testkit"
)

// TestLockUsers_ReadsAnyColumn: a change kind may read any column of
// User, not only those with a hand-written scan, so that a new kind or
// editable field does not touch models/user_write.go.
func TestLockUsers_ReadsAnyColumn(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	bob := app.Member("bob")
	db := app.Svc.DB
	got, err := models.LockUsers(context.Background(), db, models.UsersByPublicIDs(db, []string{bob.PublicID}),
		[]string{"id", "must_change_password", "created_at", "last_login_ip", "totp_last_step"}, models.ReadOnly, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != bob.ID || got[0].CreatedAt.IsZero() {
		t.Fatalf("read %+v", got)
	}
}
