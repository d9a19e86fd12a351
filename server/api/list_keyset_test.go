package api_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/api"
	"gatehouse/server/testkit"
)

// offsetWatch records the users queries that skip rows with OFFSET.
type offsetWatch struct {
	mu   sync.Mutex
	seen []string
}

func (w *offsetWatch) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (w *offsetWatch) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if strings.Contains(e.Query, "OFFSET") && strings.Contains(e.Query, `"users"`) {
		w.mu.Lock()
		w.seen = append(w.seen, e.Query)
		w.mu.Unlock()
	}
}

func (w *offsetWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen
	w.seen = nil
	return s
}

// referenceOrder is every account's public ID in order s, read with one
// plain ORDER BY.
func referenceOrder(t *testing.T, app *testkit.App, f models.UserFilter, s models.UserSort) []string {
	t.Helper()
	var users []models.User
	q := models.ApplyUserSort(models.ApplyUserFilter(app.Svc.DB.NewSelect().Model(&users).Column("public_id"), f, app.Svc.Now()), s)
	if err := q.Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(users))
	for i := range users {
		out[i] = users[i].PublicID
	}
	return out
}

func seedForLists(t *testing.T, app *testkit.App, n int) {
	t.Helper()
	if err := app.Svc.Seed(t.Context(), n, nil); err != nil {
		t.Fatal(err)
	}
	// Ties: several accounts share one update time and one display name.
	if _, err := app.Svc.DB.NewRaw("UPDATE users SET updated_at = ?, display_name = 'Same Name' WHERE id % 7 = 0", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
}

var allSorts = []string{"id", "-id", "last_login", "-last_login", "updated", "-updated", "display_name", "-display_name"}

// TestExport_StreamsEveryRowInOrderWithoutOffset: the CSV export holds
// every matching account exactly once, in the list's order, across chunk
// boundaries (700 accounts each here), and reads them by seeking, never
// with OFFSET (which slowed a 1M export 11x towards its end).
func TestExport_StreamsEveryRowInOrderWithoutOffset(t *testing.T) {
	defer api.SetExportChunk(700)()
	app := testkit.NewApp(t)
	seedForLists(t, app, 2300)
	watch := &offsetWatch{}
	app.Svc.DB.AddQueryHook(watch)
	ac := app.LoginAs(app.Admin("exporter"))
	ac.SkipSpec = true
	for _, c := range []struct {
		query string
		f     models.UserFilter
	}{{"", models.UserFilter{}}, {"status=active", models.UserFilter{Status: "active"}}, {"q=son", models.UserFilter{Q: "son"}}} {
		for _, sortKey := range allSorts {
			s, _ := models.ParseUserSort(sortKey)
			r := ac.GET("/api/admin/users/export.csv?sort=" + url.QueryEscape(sortKey) + "&" + c.query).Expect(200)
			rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			want := referenceOrder(t, app, c.f, s)
			if c.query == "" && len(want) < 2000 {
				t.Fatalf("only %d accounts", len(want))
			}
			if len(rows)-1 != len(want) {
				t.Fatalf("%s %s: %d rows, want %d", c.query, sortKey, len(rows)-1, len(want))
			}
			for i, id := range want {
				if rows[i+1][0] != id {
					t.Fatalf("%s %s: row %d is %s, want %s", c.query, sortKey, i+1, rows[i+1][0], id)
				}
			}
			if q := watch.take(); len(q) > 0 {
				t.Fatalf("%s %s: export read with OFFSET: %s", c.query, sortKey, q[0])
			}
		}
	}
}

// TestExport_FailureEndsWithMarker: when reading fails after the first
// chunk, the file ends with the documented marker line (code and rows
// written) and the transfer is cut, so neither a browser nor a script
// takes the partial file as a whole export.
func TestExport_FailureEndsWithMarker(t *testing.T) {
	app := testkit.NewApp(t)
	if err := app.Svc.Seed(t.Context(), 1500, nil); err != nil {
		t.Fatal(err)
	}
	ac := app.LoginAs(app.Admin("exporter"))
	restore := api.FailExportAfterChunks(1)
	defer restore()
	req, _ := http.NewRequest("GET", app.URL+"/api/admin/users/export.csv", nil)
	res, err := ac.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, readErr := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatal(res.Status)
	}
	if readErr == nil {
		t.Fatal("the failed export ended like a complete one")
	}
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	last := lines[len(lines)-1]
	if last != api.ExportFailedMarker+",read_failed,1000" {
		t.Fatalf("last line %q", last)
	}
	if !strings.HasPrefix(api.ExportFailedMarker, "#") {
		t.Fatal(api.ExportFailedMarker)
	}
}

type cursorPage struct {
	Items []struct {
		PublicID string `json:"publicId"`
	} `json:"items"`
	Total      int64   `json:"total"`
	Page       int     `json:"page"`
	NextCursor *string `json:"nextCursor"`
	PrevCursor *string `json:"prevCursor"`
}

func (p cursorPage) ids() []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.PublicID
	}
	return out
}

// TestUserList_CursorPagesWalkTheWholeOrder: following nextCursor from the
// first page visits every matching account once in the list's order, for
// every sort key in both directions (ties on update time and display
// name, accounts that never signed in) with and without filters and
// search; following prevCursor back from the last page gives the same
// pages; the numbered pages carry cursors too; and no page reached by a
// cursor is read with OFFSET.
func TestUserList_CursorPagesWalkTheWholeOrder(t *testing.T) {
	app := testkit.NewApp(t)
	seedForLists(t, app, 260)
	watch := &offsetWatch{}
	app.Svc.DB.AddQueryHook(watch)
	ac := app.LoginAs(app.Admin("lister"))
	const per = 25
	for _, c := range []struct {
		query string
		f     models.UserFilter
	}{{"", models.UserFilter{}}, {"status=active", models.UserFilter{Status: "active"}}, {"emailVerified=false", models.UserFilter{EmailVerified: new(bool)}},
		{"q=an", models.UserFilter{Q: "an"}}, {"q=son&role=user", models.UserFilter{Q: "son", Role: "user"}}} {
		for _, sortKey := range allSorts {
			s, _ := models.ParseUserSort(sortKey)
			want := referenceOrder(t, app, c.f, s)
			base := "/api/admin/users?perPage=25&sort=" + url.QueryEscape(sortKey) + "&" + c.query
			var pages [][]string
			var p cursorPage
			ac.GET(base).Expect(200).JSON(&p)
			if p.PrevCursor != nil {
				t.Fatalf("%s: first page has a prevCursor", base)
			}
			watch.take()
			for {
				pages = append(pages, p.ids())
				if p.NextCursor == nil {
					break
				}
				if len(pages) > 100 {
					t.Fatal("no end")
				}
				var next cursorPage
				ac.GET(base + "&after=" + url.QueryEscape(*p.NextCursor)).Expect(200).JSON(&next)
				if next.PrevCursor == nil {
					t.Fatalf("%s: page %d has no prevCursor", base, len(pages)+1)
				}
				p = next
			}
			var got []string
			for _, pg := range pages {
				got = append(got, pg...)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("%s: forward walk gives %d accounts, want %d\ngot  %v\nwant %v", base, len(got), len(want), got, want)
			}
			// Back from the last page.
			for i := len(pages) - 2; i >= 0; i-- {
				var prev cursorPage
				ac.GET(base + "&before=" + url.QueryEscape(*p.PrevCursor)).Expect(200).JSON(&prev)
				if strings.Join(prev.ids(), ",") != strings.Join(pages[i], ",") {
					t.Fatalf("%s: back to page %d: %v, want %v", base, i+1, prev.ids(), pages[i])
				}
				if (i == 0) != (prev.PrevCursor == nil) {
					t.Fatalf("%s: page %d prevCursor %v", base, i+1, prev.PrevCursor)
				}
				p = prev
			}
			if q := watch.take(); len(q) > 0 {
				t.Fatalf("%s: a cursor page was read with OFFSET: %s", base, q[0])
			}
			// A numbered page's cursors lead to its neighbours.
			if len(pages) > 2 {
				var p2 cursorPage
				ac.GET(base + "&page=2").Expect(200).JSON(&p2)
				if strings.Join(p2.ids(), ",") != strings.Join(pages[1], ",") || p2.NextCursor == nil || p2.PrevCursor == nil {
					t.Fatalf("%s: page 2 %v", base, p2.ids())
				}
				var p3 cursorPage
				ac.GET(base + "&page=3&after=" + url.QueryEscape(*p2.NextCursor)).Expect(200).JSON(&p3)
				if strings.Join(p3.ids(), ",") != strings.Join(pages[2], ",") || p3.Page != 3 {
					t.Fatalf("%s: page 3 by cursor %v", base, p3.ids())
				}
			}
		}
	}
}

// TestUserList_BadCursorIs400: a cursor is opaque but checked: garbage,
// a cursor of another sort order, or after and before together are a 400
// naming the field, never a 500 or a silent first page.
func TestUserList_BadCursorIs400(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	seedForLists(t, app, 60)
	ac := app.LoginAs(app.Admin("lister"))
	var p cursorPage
	ac.GET("/api/admin/users?perPage=10&sort=display_name").Expect(200).JSON(&p)
	if p.NextCursor == nil {
		t.Fatal("no nextCursor")
	}
	next := url.QueryEscape(*p.NextCursor)
	for path, field := range map[string]string{
		"/api/admin/users?after=garbage":                                       "after",
		"/api/admin/users?before=%7B%7D":                                       "before",
		"/api/admin/users?after=":                                              "after",
		"/api/admin/users?after=eyJ2IjoxLCJzIjoiLWlkIiwiaSI6LTF9":              "after", // {"v":1,"s":"-id","i":-1}
		"/api/admin/users?after=eyJ2IjoxLCJzIjoiLWlkIiwiaSI6MSwidCI6IngifQ":    "after", // a time on the id order
		"/api/admin/users?sort=-display_name&after=" + next:                    "after",
		"/api/admin/users?sort=display_name&after=" + next + "&before=" + next: "before",
	} {
		r := ac.GET(path).Expect(400)
		if _, ok := r.Fields()[field]; !ok || r.ErrorCode() != "invalid_query" {
			t.Fatalf("%s: %s %v", path, r.ErrorCode(), r.Fields())
		}
	}
	ac.GET("/api/admin/users?sort=display_name&perPage=10&after=" + next).Expect(200)
}
