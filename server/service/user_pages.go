package service

import (
	"context"
	"slices"

	"gatehouse/models"
)

// UserPage is one page of the account list with the cursors of its
// neighbours (nil where there is none).
type UserPage struct {
	Users      []models.User
	Total      int64
	Estimate   bool
	Next, Prev *models.UserKey
}

// SeekPage reads the page after `after` or before `before` (one of them is
// set) by seeking the sort order, so that every page reached by next and
// previous costs what the first does. Before the first page, it answers
// the first page.
func (s *Users) SeekPage(ctx context.Context, f models.UserFilter, sort models.UserSort, after, before *models.UserKey, perPage int) (UserPage, error) {
	now := s.svc.Now()
	var p UserPage
	if after != nil {
		users, total, estimate, err := models.SeekUsers(ctx, s.svc.DB, f, sort, *after, perPage+1, now)
		if err != nil {
			return p, err
		}
		p = UserPage{Users: users, Total: total, Estimate: estimate}
		if len(users) > perPage {
			p.Users = users[:perPage]
			k := models.KeyOf(&p.Users[perPage-1], sort)
			p.Next = &k
		}
		if len(p.Users) > 0 {
			k := models.KeyOf(&p.Users[0], sort)
			p.Prev = &k
		}
		return p, nil
	}
	users, total, estimate, err := models.SeekUsers(ctx, s.svc.DB, f, sort.Reversed(), *before, perPage+1, now)
	if err != nil {
		return p, err
	}
	if len(users) <= perPage {
		// Fewer than a page before it: that is the first page.
		users, total, estimate, err := s.Search(ctx, f, sort, 1, perPage)
		if err != nil {
			return p, err
		}
		return FirstPageCursors(UserPage{Users: users, Total: total, Estimate: estimate}, sort, 1, perPage), nil
	}
	users = users[:perPage]
	slices.Reverse(users)
	p = UserPage{Users: users, Total: total, Estimate: estimate}
	first, last := models.KeyOf(&users[0], sort), models.KeyOf(&users[len(users)-1], sort)
	p.Prev, p.Next = &first, &last
	return p, nil
}

// FirstPageCursors adds the cursors to a page read by number: the next
// page unless this one is the last, the previous unless it is the first.
func FirstPageCursors(p UserPage, sort models.UserSort, page, perPage int) UserPage {
	n := len(p.Users)
	if n == 0 {
		return p
	}
	if n >= perPage && (p.Estimate || int64((page-1)*perPage+n) < p.Total) {
		k := models.KeyOf(&p.Users[n-1], sort)
		p.Next = &k
	}
	if page > 1 {
		k := models.KeyOf(&p.Users[0], sort)
		p.Prev = &k
	}
	return p
}
