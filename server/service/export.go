package service

import (
	"context"
)

// ActionUsersExported is the audit action of a CSV export of accounts.
const ActionUsersExported = "users.exported"

// ExportRecord is what an export of accounts did: the query it ran (its
// filter and sort parameters as sent), how many accounts it wrote, and,
// when it stopped early, why.
type ExportRecord struct {
	Filter  map[string]string
	Rows    int
	Failure string // "" when the file is complete
}

// AuditExport records an export once it has ended, so that the row count
// is the real one. It runs on its own even when the request's context is
// cancelled (the client hung up midway), since that is worth recording too.
func (s *Users) AuditExport(ctx context.Context, actor Actor, rec ExportRecord) error {
	details := map[string]any{"filter": rec.Filter, "rows": rec.Rows, "complete": rec.Failure == ""}
	if rec.Failure != "" {
		details["failure"] = rec.Failure
	}
	return s.svc.Audit.Write(context.WithoutCancel(ctx), s.svc.DB, AuditEntry{Action: ActionUsersExported, Actor: actor, Details: details})
}
