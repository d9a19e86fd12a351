package migrations

import (
	"context"

	"github.com/uptrace/bun"
)

// Every column that references another table gets an index, so that
// deleting the referenced row finds the rows its foreign key cascades to
// (or sets to NULL) without reading the whole referencing table. Seven
// had none (models TestSchema_EveryForeignKeyHasAnIndex): four that
// reference an account, so a bulk delete of 100,000 accounts scanned
// api_keys, oauth_auth_requests, oidc_states and login_challenges once
// per account (TestDeleteUsers_CascadesThroughIndexes), and three that
// reference an application or an identity provider. The nullable
// columns are mostly NULL: their indexes leave those rows out.
func init() {
	Migrations.MustRegister(func(ctx context.Context, db *bun.DB) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return ddl(ctx, tx, `
CREATE INDEX api_keys_created_by ON api_keys (created_by_id) WHERE created_by_id IS NOT NULL;
CREATE INDEX oauth_auth_requests_user ON oauth_auth_requests (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_states_link_user ON oidc_states (link_user_id) WHERE link_user_id IS NOT NULL;
CREATE INDEX login_challenges_user ON login_challenges (user_id);
CREATE INDEX oauth_auth_requests_application ON oauth_auth_requests (application_id);
CREATE INDEX oauth_token_families_application ON oauth_token_families (application_id);
CREATE INDEX oidc_states_provider ON oidc_states (provider_id)
`)
		})
	}, nil)
}
