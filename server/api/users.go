package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"gatehouse/models"
	"gatehouse/server/httpx"
	"gatehouse/server/middleware"
	"gatehouse/server/problem"
	"gatehouse/server/service"
)

// parseUserFilter reads the list filters from a query. Every value is
// checked against an allow-list; anything else is a 400 with field errors.
func parseUserFilter(get func(string) string) (models.UserFilter, problem.Fields) {
	f := models.UserFilter{Q: strings.TrimSpace(get("q"))}
	fields := problem.Fields{}
	if len(f.Q) > 200 {
		fields.Add("q", "must be at most 200 characters")
	} else if msg := httpx.ControlText(f.Q, false); msg != "" {
		fields.Add("q", msg)
	}
	if v := get("role"); v != "" {
		if !models.ValidRole(v) {
			fields.Add("role", "must be user, admin or super_admin")
		}
		f.Role = v
	}
	if v := get("status"); v != "" {
		if !models.ValidStatus(v) {
			fields.Add("status", "must be active, pending, suspended or deactivated")
		}
		f.Status = v
	}
	if v := get("subscription"); v != "" {
		if v != "none" && v != "active" && v != "expired" {
			fields.Add("subscription", "must be none, active or expired")
		}
		f.Subscription = v
	}
	tri := func(name, yes, no string) *bool {
		switch get(name) {
		case "":
			return nil
		case yes:
			t := true
			return &t
		case no:
			f := false
			return &f
		}
		fields.Add(name, "must be "+yes+" or "+no)
		return nil
	}
	f.TwoFactor = tri("twoFactor", "on", "off")
	f.Locked = tri("locked", "true", "false")
	f.EmailVerified = tri("emailVerified", "true", "false")
	if v := get("dormantDays"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			fields.Add("dormantDays", "must be a whole number of days from 1 to 3650")
		}
		f.DormantDays = n
	}
	return f, fields
}

func badQuery(fields problem.Fields) error {
	return &problem.Error{Kind: problem.BadRequest, Code: "invalid_query", Message: "Some query parameters are not valid.", Fields: fields}
}

func parseSort(c *gin.Context, fields problem.Fields) models.UserSort {
	s, ok := models.ParseUserSort(c.Query("sort"))
	if !ok {
		fields.Add("sort", "must be one of id, last_login, updated, display_name, optionally prefixed with -")
	}
	return s
}

// ListUsers answers one page of accounts.
func (h *Handler) ListUsers(c *gin.Context) {
	f, fields := parseUserFilter(c.Query)
	sort := parseSort(c, fields)
	page, err := httpx.ParsePage(c, 25)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	after, before := parseCursor(c, "after", sort, fields), parseCursor(c, "before", sort, fields)
	if after != nil && before != nil {
		fields.Add("before", "give after or before, not both")
	}
	if len(fields) > 0 {
		httpx.Render(c, badQuery(fields))
		return
	}
	var p service.UserPage
	if after != nil || before != nil {
		p, err = h.Svc.Users.SeekPage(c.Request.Context(), f, sort, after, before, page.PerPage)
	} else {
		p.Users, p.Total, p.Estimate, err = h.Svc.Users.Search(c.Request.Context(), f, sort, page.Page, page.PerPage)
		p = service.FirstPageCursors(p, sort, page.Page, page.PerPage)
	}
	if err != nil {
		httpx.Render(c, err)
		return
	}
	now := h.Svc.Now()
	items := make([]User, len(p.Users))
	for i := range p.Users {
		items[i] = NewUser(&p.Users[i], now)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": p.Total, "totalIsEstimate": p.Estimate, "page": page.Page, "perPage": page.PerPage,
		"nextCursor": cursorOf(p.Next), "prevCursor": cursorOf(p.Prev)})
}

// parseCursor reads an after/before cursor for the sort order; one that
// this server did not give out for that order is a field error.
func parseCursor(c *gin.Context, name string, sort models.UserSort, fields problem.Fields) *models.UserKey {
	v, ok := c.GetQuery(name)
	if !ok {
		return nil
	}
	k, err := models.DecodeUserKey(v, sort)
	if err != nil {
		fields.Add(name, "is not a cursor of this list and sort order; start again from the first page")
		return nil
	}
	return &k
}

func cursorOf(k *models.UserKey) *string {
	if k == nil {
		return nil
	}
	s := k.Encode()
	return &s
}

type createUserRequest struct {
	Username    string          `json:"username"`
	DisplayName string          `json:"displayName"`
	Password    string          `json:"password"`
	Email       string          `json:"email"`
	Phone       string          `json:"phone"`
	Language    string          `json:"language"`
	Timezone    string          `json:"timezone"`
	Preferences *map[string]any `json:"preferences"`
	Role        string          `json:"role"`
}

// CreateUser adds an account.
func (h *Handler) CreateUser(c *gin.Context) {
	var req createUserRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	in := service.NewUser{Username: req.Username, DisplayName: req.DisplayName, Password: req.Password, Email: req.Email,
		Phone: req.Phone, Language: req.Language, Timezone: req.Timezone, Role: req.Role}
	if req.Preferences != nil {
		in.Preferences = *req.Preferences
	}
	u, err := h.Svc.Users.Create(c.Request.Context(), middleware.ActorOf(c), in)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusCreated, NewUser(u, h.Svc.Now()))
}

// UserDetail is an account with its system information.
type UserDetail struct {
	User           User         `json:"user"`
	InternalID     int64        `json:"internalId"`
	LastLoginIP    string       `json:"lastLoginIp"`
	ActiveSessions int64        `json:"activeSessions"`
	StatusHistory  []AuditEvent `json:"statusHistory"`
}

func (h *Handler) renderDetail(c *gin.Context, d *service.UserDetail) {
	out := UserDetail{User: NewUser(d.User, h.Svc.Now()), InternalID: d.User.ID, LastLoginIP: d.User.LastLoginIP, ActiveSessions: d.ActiveSessions, StatusHistory: make([]AuditEvent, len(d.StatusHistory))}
	for i := range d.StatusHistory {
		out.StatusHistory[i] = NewAuditEvent(&d.StatusHistory[i])
	}
	c.JSON(http.StatusOK, out)
}

// GetUser answers one account.
func (h *Handler) GetUser(c *gin.Context) {
	d, err := h.Svc.Users.Detail(c.Request.Context(), c.Param("publicId"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}

type updateUserRequest struct {
	DisplayName           *string             `json:"displayName"`
	Email                 *string             `json:"email"`
	EmailVerified         *bool               `json:"emailVerified"`
	Phone                 *string             `json:"phone"`
	Language              *string             `json:"language"`
	Timezone              *string             `json:"timezone"`
	Preferences           *map[string]any     `json:"preferences"`
	Role                  *string             `json:"role"`
	PlanID                nullable[int64]     `json:"planId"`
	SubscriptionExpiresAt nullable[time.Time] `json:"subscriptionExpiresAt"`
	Reason                string              `json:"reason"`
}

// UpdateUser changes an account's fields.
func (h *Handler) UpdateUser(c *gin.Context) {
	var req updateUserRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	if req.Preferences != nil && *req.Preferences == nil {
		httpx.Render(c, problem.Fields{"preferences": "must be a JSON object"}.Err())
		return
	}
	if len(req.Reason) > 500 {
		httpx.Render(c, problem.Fields{"reason": "must be at most 500 characters"}.Err())
		return
	}
	p := service.UserPatch{DisplayName: req.DisplayName, Email: req.Email, EmailVerified: req.EmailVerified, Phone: req.Phone,
		Language: req.Language, Timezone: req.Timezone, Preferences: req.Preferences, Role: req.Role, Reason: req.Reason}
	if req.PlanID.Set {
		p.PlanID = &req.PlanID.Value
	}
	if req.SubscriptionExpiresAt.Set {
		p.SubscriptionExpiresAt = &req.SubscriptionExpiresAt.Value
	}
	d, err := h.Svc.Users.Update(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), p)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}

type statusRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (r *statusRequest) Validate() error {
	f := problem.Fields{}
	if !models.ValidStatus(r.Status) {
		f.Add("status", "must be active, pending, suspended or deactivated")
	}
	if len(r.Reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	return f.Err()
}

// SetUserStatus changes an account's status.
func (h *Handler) SetUserStatus(c *gin.Context) {
	var req statusRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, err := h.Svc.Users.SetStatus(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), req.Status, strings.TrimSpace(req.Reason))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}

// DeleteUser removes an account; ?confirm= must carry its username.
func (h *Handler) DeleteUser(c *gin.Context) {
	reason := c.Query("reason")
	if len(reason) > 500 {
		httpx.Render(c, badQuery(problem.Fields{"reason": "must be at most 500 characters"}))
		return
	}
	if msg := httpx.ControlText(reason, true); msg != "" {
		httpx.Render(c, badQuery(problem.Fields{"reason": msg}))
		return
	}
	if err := h.Svc.Users.Delete(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), c.Query("confirm"), reason); err != nil {
		httpx.Render(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type balanceRequest struct {
	Mode          string `json:"mode"`
	Amount        *int64 `json:"amount"`
	Reason        string `json:"reason"`
	AllowNegative bool   `json:"allowNegative"`
}

func (r *balanceRequest) Validate() error {
	f := problem.Fields{}
	if r.Mode != "add" && r.Mode != "set" {
		f.Add("mode", "must be add or set")
	}
	if r.Amount == nil {
		f.Add("amount", "is required (an integer in minor units)")
	}
	if len(r.Reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	return f.Err()
}

// ChangeUserBalance adds to or sets a balance.
func (h *Handler) ChangeUserBalance(c *gin.Context) {
	var req balanceRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, err := h.Svc.Users.ChangeBalance(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), service.BalanceChange{Mode: req.Mode, Amount: *req.Amount, Reason: req.Reason, AllowNegative: req.AllowNegative})
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}

// LedgerEntry is one balance change.
type LedgerEntry struct {
	ID            int64     `json:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	Amount        int64     `json:"amount"`
	BalanceAfter  int64     `json:"balanceAfter"`
	ActorUsername string    `json:"actorUsername"`
	Reason        string    `json:"reason"`
	BatchID       string    `json:"batchId"`
	// ViaAPIKey marks a service's usage event; Metadata is its JSON.
	ViaAPIKey bool            `json:"viaApiKey"`
	Metadata  json.RawMessage `json:"metadata"`
	// APIKeyPrefix, IdempotencyKey and UsageType describe a usage event
	// ("" otherwise).
	APIKeyPrefix   string `json:"apiKeyPrefix"`
	IdempotencyKey string `json:"idempotencyKey"`
	UsageType      string `json:"usageType"`
}

// UserLedger answers a page of an account's balance changes.
func (h *Handler) UserLedger(c *gin.Context) {
	page, err := httpx.ParsePage(c, 25)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	rows, total, err := h.Svc.Users.Ledger(c.Request.Context(), c.Param("publicId"), page.PerPage, page.Offset())
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		items[i] = LedgerEntry{ID: r.ID, CreatedAt: r.CreatedAt, Amount: r.Amount, BalanceAfter: r.BalanceAfter, ActorUsername: r.ActorUsername, Reason: r.Reason, BatchID: r.BatchID, ViaAPIKey: r.ActorKeyID != nil,
			APIKeyPrefix: r.ActorKeyPrefix, IdempotencyKey: r.IdempotencyKey, UsageType: r.UsageType}
		if r.Metadata != "" {
			items[i].Metadata = json.RawMessage(r.Metadata)
		}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": total, "page": page.Page, "perPage": page.PerPage})
}

// UserSessions lists an account's sessions.
func (h *Handler) UserSessions(c *gin.Context) {
	list, err := h.Svc.Users.Sessions(c.Request.Context(), c.Param("publicId"))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	items := make([]Session, len(list))
	for i := range list {
		items[i] = NewSession(&list[i], middleware.ActorOf(c).SessionID)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

type revokeRequest struct {
	SessionID string `json:"sessionId"`
	Reason    string `json:"reason"`
}

func (r *revokeRequest) Validate() error {
	if len(r.Reason) > 500 {
		return problem.Fields{"reason": "must be at most 500 characters"}.Err()
	}
	return nil
}

// RevokeUserSessions ends all (or one) of an account's sessions.
func (h *Handler) RevokeUserSessions(c *gin.Context) {
	var req revokeRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	n, err := h.Svc.Users.RevokeSessions(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), req.SessionID, req.Reason)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"revoked": n})
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (r *reasonRequest) Validate() error {
	if len(r.Reason) > 500 {
		return problem.Fields{"reason": "must be at most 500 characters"}.Err()
	}
	return nil
}

// UnlockUser clears a failed-sign-in lock.
func (h *Handler) UnlockUser(c *gin.Context) {
	var req reasonRequest
	if err := httpx.BindOptionalJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	d, err := h.Svc.Users.Unlock(c.Request.Context(), middleware.ActorOf(c), c.Param("publicId"), req.Reason)
	if err != nil {
		httpx.Render(c, err)
		return
	}
	h.renderDetail(c, d)
}

type bulkFilter struct {
	Q             string `json:"q"`
	Role          string `json:"role"`
	Status        string `json:"status"`
	Subscription  string `json:"subscription"`
	TwoFactor     string `json:"twoFactor"`
	Locked        string `json:"locked"`
	EmailVerified string `json:"emailVerified"`
	DormantDays   *int   `json:"dormantDays"`
}

type bulkParams struct {
	Role          string `json:"role"`
	Status        string `json:"status"`
	Timezone      string `json:"timezone"`
	Language      string `json:"language"`
	Amount        int64  `json:"amount"`
	AllowNegative bool   `json:"allowNegative"`
}

type bulkRequest struct {
	Action      string      `json:"action"`
	PublicIDs   []string    `json:"publicIds"`
	Filter      *bulkFilter `json:"filter"`
	Params      bulkParams  `json:"params"`
	Reason      string      `json:"reason"`
	DryRun      bool        `json:"dryRun"`
	SkipRefused bool        `json:"skipRefused"`
}

// BulkUsers runs or previews a bulk action.
func (h *Handler) BulkUsers(c *gin.Context) {
	var req bulkRequest
	if err := httpx.BindJSON(c, &req); err != nil {
		httpx.Render(c, err)
		return
	}
	r := service.BulkRequest{Action: req.Action, PublicIDs: req.PublicIDs, Role: req.Params.Role, Status: req.Params.Status,
		Timezone: req.Params.Timezone, Language: req.Params.Language, Amount: req.Params.Amount, AllowNeg: req.Params.AllowNegative, Reason: strings.TrimSpace(req.Reason),
		DryRun: req.DryRun, SkipRefused: req.SkipRefused}
	if req.Filter != nil {
		bf := req.Filter
		vals := map[string]string{"q": bf.Q, "role": bf.Role, "status": bf.Status, "subscription": bf.Subscription, "twoFactor": bf.TwoFactor, "locked": bf.Locked, "emailVerified": bf.EmailVerified}
		if bf.DormantDays != nil {
			vals["dormantDays"] = strconv.Itoa(*bf.DormantDays)
		}
		f, fields := parseUserFilter(func(k string) string { return vals[k] })
		if len(fields) > 0 {
			prefixed := problem.Fields{}
			for k, v := range fields {
				prefixed["filter."+k] = v
			}
			httpx.Render(c, prefixed.Err())
			return
		}
		r.Filter = &f
	}
	res, err := h.Svc.Users.Bulk(c.Request.Context(), middleware.ActorOf(c), r)
	// A large change may outlast the server's write timeout (60 s from
	// the request): its answer, committed or not, gets time of its own to
	// reach the client instead of a closed connection.
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(answerDeadline))
	if err != nil {
		httpx.Render(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// answerDeadline is the time a long request's answer may take to reach the
// client once it is ready.
const answerDeadline = 30 * time.Second

// ExportFailedMarker starts the last line of an export that failed part
// way: the status line and headers are gone by then, so the file itself
// says it is incomplete (documented in openapi.yaml; the console reports
// it). Its line is "#gatehouse-export-incomplete,CODE,ROWS_WRITTEN"; no
// data line starts with "#" (the first cell is a public ID).
const ExportFailedMarker = "#gatehouse-export-incomplete"

// exportChunk accounts are read and written at a time; exportChunkDeadline
// is the time each chunk may take to reach the client before the write
// fails (the server's write timeout would otherwise cut a long export; a
// test makes it shorter).
var exportChunkDeadline = 60 * time.Second

var exportChunk = 5000 // a test makes it smaller

// exportMarkerLinger is how long a failed export waits between sending its
// marker line and cutting the connection.
const exportMarkerLinger = 300 * time.Millisecond

// readExportChunk reads one chunk of an export (a test makes it fail).
var readExportChunk = models.ExportUsersAfter

// exportHeader is the first line of an export.
var exportHeader = []string{"public_id", "username", "display_name", "email", "email_verified", "phone", "language", "timezone", "role", "status", "status_reason", "balance", "plan", "subscription_status", "subscription_expires_at", "two_factor", "locked_until", "last_login_at", "created_at", "updated_at"}

// ExportUsers streams the accounts matching the filters as CSV. Each chunk
// is read by seeking the sort order after the last account written (never
// OFFSET), so every chunk costs the same and memory stays flat however
// many match; rows go straight from the query into a 64 KiB buffer. Cells
// that a spreadsheet would run as a formula are prefixed with a quote. If
// reading or writing fails part way, the file ends with an
// ExportFailedMarker line and, on HTTP/1.1, the connection is closed
// without the final chunk, so that a browser marks the download failed.
func (h *Handler) ExportUsers(c *gin.Context) {
	f, fields := parseUserFilter(c.Query)
	sort := parseSort(c, fields)
	if len(fields) > 0 {
		httpx.Render(c, badQuery(fields))
		return
	}
	ctx := c.Request.Context()
	now := h.Svc.Now()
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Now().Add(exportChunkDeadline))
	// The export is audited when it ends: who, the query, the rows that
	// reached the client and, when it stopped early, why.
	rec := service.ExportRecord{Filter: exportQuery(c)}
	defer func() {
		if err := h.Svc.Users.AuditExport(ctx, middleware.ActorOf(c), rec); err != nil {
			h.Svc.Log.Error("audit of an export failed", "error", err, "request_id", c.GetString(httpx.RequestIDKey))
		}
	}()
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="gatehouse-users-`+now.Format("20060102-150405")+`.csv"`)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	// csv.NewWriter keeps a *bufio.Writer of 4 KiB or more as it is.
	w := csv.NewWriter(bufio.NewWriterSize(c.Writer, 64<<10))
	_ = w.Write(exportHeader)
	var (
		after *models.UserKey
		rows  int64 // rows handed to the CSV writer, each complete
	)
	fail := func(code string) {
		// Headers are gone: end the file visibly broken, then abort the
		// response so that the transfer itself is not complete either.
		_ = rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		w.Flush()
		rec.Rows = int(rows)
		_, _ = c.Writer.WriteString("\n" + ExportFailedMarker + "," + code + "," + strconv.FormatInt(rows, 10) + "\n")
		_ = rc.Flush()
		// A browser's fetch drops what it has not read yet once the
		// connection fails: give the marker a moment to be read first.
		time.Sleep(exportMarkerLinger)
		abortConnection(c.Writer)
	}
	cells := make([]string, len(exportHeader))
	var writeErr error
	each := func(r *models.ExportRow) error {
		cells[0], cells[1], cells[2], cells[3] = r.PublicID, r.Username, r.DisplayName, r.Email
		cells[4], cells[5], cells[6], cells[7] = strconv.FormatBool(r.EmailVerified), r.Phone, r.Language, r.Timezone
		cells[8], cells[9], cells[10], cells[11] = r.Role, r.Status, r.StatusReason, strconv.FormatInt(r.Balance, 10)
		cells[12], cells[13], cells[14], cells[15] = r.PlanName, r.SubscriptionStatus, r.SubscriptionExpiresAt, strconv.FormatBool(r.TwoFactor)
		cells[16], cells[17], cells[18], cells[19] = r.LockedUntil, r.LastLoginAt, r.CreatedAt, r.UpdatedAt
		if writeErr = w.Write(csvSafe(cells)); writeErr != nil {
			return writeErr
		}
		rows++
		return nil
	}
	for {
		last, n, err := readExportChunk(ctx, h.Svc.DB, f, sort, after, exportChunk, now, each)
		if err != nil {
			if writeErr != nil || ctx.Err() != nil {
				rec.Failure = "the client went away"
				return
			}
			rec.Failure = "reading the accounts failed"
			h.Svc.Log.Error("export failed", "error", err, "rows", rows)
			fail("read_failed")
			return
		}
		w.Flush()
		if err := w.Error(); err != nil {
			rec.Failure = "the client went away"
			return // the client is gone or too slow: nothing can reach it
		}
		rec.Rows = int(rows)
		if n < exportChunk {
			return
		}
		after = last
		_ = rc.SetWriteDeadline(time.Now().Add(exportChunkDeadline))
	}
}

// abortConnection closes an HTTP/1.x response's connection without the
// final chunk, so that the client sees the transfer cut. The writers
// around net/http's (gin's among them) refuse once a body is written, so
// it takes the innermost. On HTTP/2 it does nothing.
func abortConnection(w http.ResponseWriter) {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// exportQuery is the filter and sort of an export as sent, for its audit
// row.
func exportQuery(c *gin.Context) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"q", "role", "status", "subscription", "twoFactor", "locked", "emailVerified", "dormantDays", "sort"} {
		if v := c.Query(k); v != "" {
			out[k] = v
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func timeCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func csvSafe(cells []string) []string {
	for i, v := range cells {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			cells[i] = "'" + v
		}
	}
	return cells
}
