package models

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// UserKey is an account's place in one sort order: its sort value and its
// id (the tie-breaker). A page that starts after (or ends before) a key is
// read by seeking the sort index to it, so page 1,000 costs what page 1
// does; OFFSET would read and skip every row before it.
type UserKey struct {
	Sort UserSort
	ID   int64
	// Null is set for the last_login sort when the account never signed
	// in (those sort first ascending, last descending).
	Null bool
	T    time.Time // last_login, updated
	S    string    // display_name (as stored; compared through lower())
}

// KeyOf is u's key in sort order s.
func KeyOf(u *User, s UserSort) UserKey {
	k := UserKey{Sort: s, ID: u.ID}
	switch s.Key {
	case "last_login":
		if u.LastLoginAt == nil {
			k.Null = true
		} else {
			k.T = *u.LastLoginAt
		}
	case "updated":
		k.T = u.UpdatedAt
	case "display_name":
		k.S = u.DisplayName
	}
	return k
}

// cursorJSON is a key as the API carries it: base64url of this JSON.
type cursorJSON struct {
	V  int     `json:"v"`
	S  string  `json:"s"`
	ID int64   `json:"i"`
	N  bool    `json:"n,omitempty"`
	T  *string `json:"t,omitempty"`
	D  *string `json:"d,omitempty"`
}

// ErrBadCursor is a cursor that is not one this server gave out for the
// requested sort order.
var ErrBadCursor = errors.New("malformed cursor")

func (s UserSort) String() string {
	if s.Desc {
		return "-" + s.Key
	}
	return s.Key
}

// Encode is the key as an opaque cursor.
func (k UserKey) Encode() string {
	c := cursorJSON{V: 1, S: k.Sort.String(), ID: k.ID, N: k.Null}
	switch k.Sort.Key {
	case "last_login", "updated":
		if !k.Null {
			t := k.T.UTC().Format(time.RFC3339Nano)
			c.T = &t
		}
	case "display_name":
		c.D = &k.S
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeUserKey reads a cursor for sort order s; any cursor that is not
// well formed or belongs to another order is ErrBadCursor.
func DecodeUserKey(cursor string, s UserSort) (UserKey, error) {
	if len(cursor) > 1024 {
		return UserKey{}, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return UserKey{}, ErrBadCursor
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.S != s.String() || c.ID < 1 {
		return UserKey{}, ErrBadCursor
	}
	k := UserKey{Sort: s, ID: c.ID}
	switch s.Key {
	case "id":
		if c.N || c.T != nil || c.D != nil {
			return UserKey{}, ErrBadCursor
		}
	case "last_login", "updated":
		if c.D != nil || (c.T == nil) != (c.N && s.Key == "last_login") || (c.N && s.Key != "last_login") {
			return UserKey{}, ErrBadCursor
		}
		k.Null = c.N
		if c.T != nil {
			t, err := time.Parse(time.RFC3339Nano, *c.T)
			if err != nil {
				return UserKey{}, ErrBadCursor
			}
			k.T = t.UTC()
		}
	case "display_name":
		if c.N || c.T != nil || c.D == nil || len(*c.D) > 800 {
			return UserKey{}, ErrBadCursor
		}
		k.S = *c.D
	}
	return k, nil
}

// Reversed is the opposite direction of the same order.
func (s UserSort) Reversed() UserSort { return UserSort{Key: s.Key, Desc: !s.Desc} }

// seekSegments are the conditions that select the rows after k in order
// s, each served by one range of the sort index, in the order they come:
// one for every order but last_login, whose accounts that never signed in
// form a segment of their own (first ascending, last descending), since a
// row comparison never matches NULL.
//
// unindexed (SQLite, an index plan that sorts what another index reads)
// writes the columns with a unary + so that SQLite does not read the sort
// index for the condition.
func seekSegments(s UserSort, k UserKey, unindexed bool) []func(*bun.SelectQuery) *bun.SelectQuery {
	return seekSegmentsVia(s, k, viaOf(unindexed))
}

// seekSegmentsVia is seekSegments for a query that reads its order as via
// says: through the update-time log (viaLog), the seek is on the log's
// columns.
func seekSegmentsVia(s UserSort, k UserKey, via sortVia) []func(*bun.SelectQuery) *bun.SelectQuery {
	cmp := ">"
	if s.Desc {
		cmp = "<"
	}
	x := ""
	if via == viaSorted {
		x = "+"
	}
	switch s.Key {
	case "updated":
		if via == viaLog {
			return []func(*bun.SelectQuery) *bun.SelectQuery{func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("(r.updated_at, r.id) "+cmp+" (?, ?)", k.T, k.ID)
			}}
		}
	}
	switch s.Key {
	case "id":
		return []func(*bun.SelectQuery) *bun.SelectQuery{func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(x+"u.id "+cmp+" ?", k.ID)
		}}
	case "updated":
		return []func(*bun.SelectQuery) *bun.SelectQuery{func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("("+x+"u.updated_at, "+x+"u.id) "+cmp+" (?, ?)", k.T, k.ID)
		}}
	case "display_name":
		// Not a row value: SQLite does not turn one over an expression
		// index into a range, and scanned the index from its start to the
		// key (page 1,000 by cursor cost twice page 1, and more the
		// further the name).
		return []func(*bun.SelectQuery) *bun.SelectQuery{func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(x+"lower(u.display_name) "+cmp+"= lower(?)", k.S).
				Where("("+x+"lower(u.display_name) "+cmp+" lower(?) OR "+x+"u.id "+cmp+" ?)", k.S, k.ID)
		}}
	}
	nulls := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where(x+"u.last_login_at IS NULL AND "+x+"u.id "+cmp+" ?", k.ID)
	}
	allNulls := func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where(x + "u.last_login_at IS NULL") }
	values := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("("+x+"u.last_login_at, "+x+"u.id) "+cmp+" (?, ?)", k.T, k.ID)
	}
	allValues := func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where(x + "u.last_login_at IS NOT NULL") }
	switch {
	case !s.Desc && k.Null: // nulls first: the rest of them, then every value
		return []func(*bun.SelectQuery) *bun.SelectQuery{nulls, allValues}
	case !s.Desc:
		return []func(*bun.SelectQuery) *bun.SelectQuery{values}
	case k.Null: // nulls last
		return []func(*bun.SelectQuery) *bun.SelectQuery{nulls}
	default:
		return []func(*bun.SelectQuery) *bun.SelectQuery{values, allNulls}
	}
}
