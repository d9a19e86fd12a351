package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// challenge_attempts counts the codes tried against one sign-in challenge:
// a challenge takes at most five (service.ChallengeMaxCodes), each claimed
// by a conditional update before the code is checked.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return ddl(ctx, db, `ALTER TABLE login_challenges ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0`)
	}, nil)
}
