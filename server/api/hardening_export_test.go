package api_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/server/service"
	"gatehouse/server/testkit"
)

// TestHardening_CSVExportIsAudited: an export writes one audit row when
// it ends, naming who, the filter and sort, and how many rows left;
// an export the client abandons midway is recorded as incomplete.
func TestHardening_CSVExportIsAudited(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t)
	root := app.SuperAdmin("root")
	app.Member("bob")
	app.Member("bobby")
	app.Admin("ada")
	c := app.LoginAs(root)
	c.SkipSpec = true // CSV
	r := c.GET("/api/admin/users/export.csv?role=user&q=bob&sort=-last_login").Expect(200)
	if n := strings.Count(strings.TrimSpace(string(r.Body)), "\n"); n != 2 {
		t.Fatalf("%d data rows:\n%s", n, r.Body)
	}
	rows := auditRows(t, app, service.ActionUsersExported, "")
	if len(rows) != 1 || rows[0].ActorUsername != "root" {
		t.Fatalf("audit %+v", rows)
	}
	d := details(t, rows[0])
	filter, _ := d["filter"].(map[string]any)
	if d["rows"] != float64(2) || d["complete"] != true || filter["role"] != "user" || filter["q"] != "bob" || filter["sort"] != "-last_login" {
		t.Fatalf("details %v", d)
	}
	// A refused query exports nothing and records nothing.
	c.GET("/api/admin/users/export.csv?role=root").Expect(400)
	if len(auditRows(t, app, service.ActionUsersExported, "")) != 1 {
		t.Fatal("a refused export was audited")
	}

	// Many accounts, and a client that reads a little and hangs up.
	start := time.Now()
	if err := app.Svc.Seed(context.Background(), 6000, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %v", time.Since(start))
	req, _ := http.NewRequest("GET", app.URL+"/api/admin/users/export.csv", nil)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(res.Body).ReadString('\n')
	if !strings.HasPrefix(line, "public_id,") {
		t.Fatalf("first line %q", line)
	}
	res.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows = auditRows(t, app, service.ActionUsersExported, "")
		if len(rows) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("export audited %v after the seed", time.Since(start))
	if len(rows) != 2 {
		t.Fatalf("the abandoned export was not audited: %d rows", len(rows))
	}
	var last map[string]any
	for _, row := range rows {
		if dd := details(t, row); dd["complete"] != true {
			last = dd
		}
	}
	if last == nil || last["rows"].(float64) >= 6004 || last["failure"] == "" || last["failure"] == nil {
		t.Fatalf("abandoned export details %v", last)
	}
}
