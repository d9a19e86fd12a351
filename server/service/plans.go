package service

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"gatehouse/models"
	"gatehouse/server/problem"
)

// Plans manages subscription plans.
type Plans struct {
	svc *Services
}

// PlanWithCount is a plan and how many accounts are on it.
type PlanWithCount struct {
	models.Plan
	UserCount int64 `bun:"user_count"`
}

// List returns every plan with its account count.
func (s *Plans) List(ctx context.Context) ([]PlanWithCount, error) {
	var out []PlanWithCount
	err := s.svc.DB.NewSelect().Model((*models.Plan)(nil)).
		ColumnExpr("p.*").
		ColumnExpr("(SELECT count(*) FROM users AS u WHERE u.plan_id = p.id) AS user_count").
		Order("p.name", "p.id").Scan(ctx, &out)
	return out, err
}

// PlanInput creates or changes a plan; nil fields stay on update.
type PlanInput struct {
	Name       *string
	PeriodDays *int
	PriceMinor *int64
	Active     *bool
}

func (in *PlanInput) validate(create bool) error {
	f := problem.Fields{}
	if in.Name != nil {
		v := strings.TrimSpace(*in.Name)
		in.Name = &v
		if v == "" || utf8.RuneCountInString(v) > 100 {
			f.Add("name", "must be 1 to 100 characters")
		}
	} else if create {
		f.Add("name", "is required")
	}
	if in.PeriodDays != nil {
		if *in.PeriodDays < 1 || *in.PeriodDays > 3660 {
			f.Add("periodDays", "must be from 1 to 3660 days")
		}
	} else if create {
		f.Add("periodDays", "is required")
	}
	if in.PriceMinor != nil && (*in.PriceMinor < 0 || *in.PriceMinor > maxBalance) {
		f.Add("priceMinor", "must be zero or more (in minor units)")
	}
	return f.Err()
}

func (s *Plans) nameTaken(ctx context.Context, tx bun.IDB, name string, except int64) error {
	taken, err := tx.NewSelect().Model((*models.Plan)(nil)).Where("lower(name) = lower(?)", name).Where("id <> ?", except).Exists(ctx)
	if err != nil {
		return err
	}
	if taken {
		return problem.Fields{"name": "is already used by another plan"}.Err()
	}
	return nil
}

// Create adds a plan.
func (s *Plans) Create(ctx context.Context, actor Actor, in PlanInput) (*PlanWithCount, error) {
	if err := in.validate(true); err != nil {
		return nil, err
	}
	now := s.svc.Now()
	p := &models.Plan{Name: *in.Name, PeriodDays: *in.PeriodDays, Active: true, CreatedAt: now, UpdatedAt: now}
	if in.PriceMinor != nil {
		p.PriceMinor = *in.PriceMinor
	}
	if in.Active != nil {
		p.Active = *in.Active
	}
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.nameTaken(ctx, tx, p.Name, 0); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "plan.created", Actor: actor, Details: map[string]any{"planId": p.ID, "name": p.Name, "periodDays": p.PeriodDays, "priceMinor": p.PriceMinor}})
	})
	if err != nil {
		return nil, err
	}
	return &PlanWithCount{Plan: *p}, nil
}

var errPlanNotFound = errNotFound("The plan")

// Update changes a plan.
func (s *Plans) Update(ctx context.Context, actor Actor, id int64, in PlanInput) (*PlanWithCount, error) {
	if err := in.validate(false); err != nil {
		return nil, err
	}
	var out PlanWithCount
	err := s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p := new(models.Plan)
		if err := tx.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); err != nil {
			if errors.Is(models.NotFound(err), models.ErrNotFound) {
				return errPlanNotFound
			}
			return err
		}
		before := *p
		if in.Name != nil {
			if err := s.nameTaken(ctx, tx, *in.Name, id); err != nil {
				return err
			}
			p.Name = *in.Name
		}
		if in.PeriodDays != nil {
			p.PeriodDays = *in.PeriodDays
		}
		if in.PriceMinor != nil {
			p.PriceMinor = *in.PriceMinor
		}
		if in.Active != nil {
			p.Active = *in.Active
		}
		p.UpdatedAt = s.svc.Now()
		if _, err := tx.NewUpdate().Model(p).WherePK().Exec(ctx); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*models.User)(nil)).Where("plan_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		out = PlanWithCount{Plan: *p, UserCount: n}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "plan.updated", Actor: actor, Details: map[string]any{"planId": id,
			"before": map[string]any{"name": before.Name, "periodDays": before.PeriodDays, "priceMinor": before.PriceMinor, "active": before.Active},
			"after":  map[string]any{"name": p.Name, "periodDays": p.PeriodDays, "priceMinor": p.PriceMinor, "active": p.Active}}})
	})
	return &out, err
}

// Delete removes a plan that no account uses.
func (s *Plans) Delete(ctx context.Context, actor Actor, id int64) error {
	return s.svc.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p := new(models.Plan)
		if err := tx.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); err != nil {
			if errors.Is(models.NotFound(err), models.ErrNotFound) {
				return errPlanNotFound
			}
			return err
		}
		n, err := tx.NewSelect().Model((*models.User)(nil)).Where("plan_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			e := problem.New(problem.Conflict, "plan_in_use", "Accounts are on this plan; move them to another plan or deactivate the plan instead.")
			e.Extra = map[string]any{"userCount": n}
			return e
		}
		if _, err := tx.NewDelete().Model(p).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.svc.Audit.Write(ctx, tx, AuditEntry{Action: "plan.deleted", Actor: actor, Details: map[string]any{"planId": id, "name": p.Name}})
	})
}
