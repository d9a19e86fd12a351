package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/security"
)

// SeedPassword is the password of every seeded account.
const SeedPassword = "Seeded-Account-Passphrase"

var (
	seedFirst   = strings.Fields("Ada Alan Alice Amir Ana Anna Ben Bruno Carla Chen Chloe Daniel David Diego Elena Emma Eva Fatima Felix Grace Hana Hugo Ines Isaac Ivan Jack Jana Jin John Julia Kai Kenji Lara Lea Leo Li Lina Lucas Luis Maya Mei Mia Mohamed Nadia Noah Nora Olga Omar Oscar Paula Pedro Priya Rafael Rosa Sam Sara Sofia Tariq Tom Uma Victor Wei Xin Yara Yuki Zoe Zhang Ming Hao Jun Lei Fang Ying")
	seedLast    = strings.Fields("Adams Ahmed Alvarez Andersen Bauer Becker Brown Chen Cohen Costa Da-Silva Diaz Dubois Evans Fischer Garcia Gomez Gupta Hansen Hoffmann Huang Ibrahim Ivanova Jensen Johnson Kim Kowalski Kumar Larsen Lee Li Lin Liu Lopez Martin Meyer Moreau Muller Nakamura Nguyen Novak Okafor Olsen Park Patel Perez Petrov Rossi Sato Schmidt Silva Singh Smith Suzuki Tanaka Taylor Wang Weber Williams Wong Wu Xu Yamamoto Yang Zhang Zhao Zhou")
	seedDomains = strings.Fields("example.com example.org example.net mail.example corp.example")
	seedZones   = strings.Fields("UTC Europe/Berlin Europe/London Europe/Paris America/New_York America/Los_Angeles America/Sao_Paulo Asia/Shanghai Asia/Tokyo Asia/Kolkata Australia/Sydney Africa/Lagos")
	seedLangs   = strings.Fields("en en en zh-CN zh-CN de fr es ja")
)

// Seed inserts n synthetic accounts (realistic names, emails, roles,
// statuses, billing fields, sign-ins spread over two years) in batches,
// and reports progress through progress (may be nil).
func (s *Services) Seed(ctx context.Context, n int, progress func(done int)) error {
	hash, err := s.Hasher.Hash(ctx, SeedPassword)
	if err != nil {
		return err
	}
	now := s.Now()
	plans, err := s.seedPlans(ctx, now)
	if err != nil {
		return err
	}
	var start int64
	if err := s.DB.NewSelect().Model((*models.User)(nil)).ColumnExpr("coalesce(max(id), 0)").Scan(ctx, &start); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), uint64(start)))
	// One connection for the whole load: on SQLite it may skip fsync
	// (synthetic data; a crash just means seeding again) and checkpoint
	// the write-ahead log less often.
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	gen := func(users []models.User, done int) []models.User {
		users = users[:0]
		for i := 0; i < seedBatch && done+i < n; i++ {
			users = append(users, seedUser(rng, start+int64(done+i)+1, hash, plans, now))
		}
		return users
	}
	if models.IsSQLite(s.DB) {
		return seedSQLite(ctx, conn, n, gen, progress)
	}
	// PostgreSQL: one COPY with the indexes and row triggers set aside
	// (models.BulkLoadUsersPG); a multi-row INSERT per thousand accounts
	// kept every index up to date row by row (about 900 accounts/s).
	err = models.BulkLoadUsersPG(ctx, conn, make([]models.User, 0, seedBatch), func(users []models.User, done int) []models.User {
		if done >= n {
			return users[:0]
		}
		return gen(users, done)
	}, func(done int) {
		if progress != nil && (done%(20*seedBatch) == 0 || done == n) {
			progress(done)
		}
	})
	if err != nil {
		return err
	}
	// The search summary (models.BuildSearchSummary), streamed in
	// display-name order, once there are enough accounts to need it.
	if want, err := models.SearchSummaryWanted(ctx, s.DB); err != nil || !want {
		return err
	}
	_, err = models.BuildSearchSummary(ctx, s.DB)
	return err
}

// seedBatch is the number of accounts per INSERT statement.
const seedBatch = 1000

// seedSQLite loads all n accounts in one transaction, as a bulk load: the
// secondary indexes and triggers of the users table are dropped first,
// and recreated from their own stored definitions after the rows are in
// (an index built once from sorted data is far cheaper than one kept up
// to date row by row). The search index and the per-role/status counts,
// which those triggers maintain, are rebuilt in full. Interrupting the
// seed rolls everything back, so the triggers are never left missing.
func seedSQLite(ctx context.Context, conn bun.Conn, n int, gen func([]models.User, int) []models.User, progress func(int)) error {
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -262144", "PRAGMA temp_store = MEMORY"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = NORMAL") //nolint:errcheck
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = -2000")   //nolint:errcheck
	// A rollback journal for the load: in WAL mode every new page is
	// written twice, to the log and then by the checkpoint into the
	// database (over a gigabyte for a million accounts); a rollback journal
	// keeps only the few pages that existed before. When another process
	// has the database open the mode cannot change, and the load runs in
	// WAL mode as usual.
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode); err == nil && mode == "delete" {
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA journal_mode = WAL") //nolint:errcheck
	}
	return conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return models.WithoutUserIndexes(ctx, tx, func(ctx context.Context) error {
			users := make([]models.User, 0, seedBatch)
			for done := 0; done < n; {
				users = gen(users, done)
				if err := models.InsertUserBatch(ctx, tx, &users, false); err != nil {
					return fmt.Errorf("seed batch at %d: %w", done, err)
				}
				done += len(users)
				if progress != nil && (done%(20*seedBatch) == 0 || done == n) {
					progress(done)
				}
			}
			return nil
		})
	})
}

func (s *Services) seedPlans(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	for _, p := range []models.Plan{{Name: "Starter", PeriodDays: 30, PriceMinor: 500}, {Name: "Pro", PeriodDays: 30, PriceMinor: 2000}, {Name: "Team yearly", PeriodDays: 365, PriceMinor: 19900}} {
		p.Active, p.CreatedAt, p.UpdatedAt = true, now, now
		existing := new(models.Plan)
		if err := s.DB.NewSelect().Model(existing).Where("name = ?", p.Name).Scan(ctx); err == nil {
			ids = append(ids, existing.ID)
			continue
		}
		if _, err := s.DB.NewInsert().Model(&p).Exec(ctx); err != nil {
			return nil, err
		}
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func seedUser(rng *rand.Rand, seq int64, hash string, plans []int64, now time.Time) models.User {
	first, last := seedFirst[rng.IntN(len(seedFirst))], seedLast[rng.IntN(len(seedLast))]
	username := fmt.Sprintf("%s.%s%d", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, "-", "")), seq)
	created := now.Add(-time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	u := models.User{
		PublicID: security.NewPublicID(), DisplayName: first + " " + last, Phone: fmt.Sprintf("+1 555 %07d", rng.IntN(10_000_000)),
		Language: seedLangs[rng.IntN(len(seedLangs))], Timezone: seedZones[rng.IntN(len(seedZones))], Preferences: "{}",
		Role: models.RoleUser, Status: models.StatusActive, PasswordHash: &hash, PasswordChangedAt: &created,
		CreatedAt: created, UpdatedAt: created,
	}
	u.SetUsername(username)
	u.SetEmail(username + "@" + seedDomains[rng.IntN(len(seedDomains))])
	switch r := rng.IntN(1000); {
	case r < 5:
		u.Role = models.RoleAdmin
	}
	switch r := rng.IntN(100); {
	case r < 4:
		u.Status = models.StatusPending
	case r < 7:
		u.Status, u.StatusReason = models.StatusSuspended, "synthetic: payment dispute"
	case r < 10:
		u.Status, u.StatusReason = models.StatusDeactivated, "synthetic: closed by user"
	}
	u.EmailVouched = u.Status != models.StatusPending
	if u.Status != models.StatusPending && rng.IntN(100) < 85 {
		verified := created.Add(time.Hour)
		u.EmailVerifiedAt = &verified
	}
	if rng.IntN(100) < 85 && u.Status != models.StatusPending {
		span := now.Sub(created)
		if span > 2*365*24*time.Hour {
			span = 2 * 365 * 24 * time.Hour
		}
		last := now.Add(-time.Duration(rng.Int64N(int64(span) + 1)))
		u.LastLoginAt, u.LastLoginIP = &last, fmt.Sprintf("198.51.100.%d", rng.IntN(254)+1)
		u.UpdatedAt = last
	}
	u.Balance = rng.Int64N(100_000)
	if rng.IntN(100) < 30 {
		p := plans[rng.IntN(len(plans))]
		exp := now.Add(time.Duration(rng.Int64N(int64(2*365*24*time.Hour))) - 365*24*time.Hour)
		u.PlanID, u.SubscriptionExpiresAt = &p, &exp
	}
	return u
}
