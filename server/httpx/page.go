package httpx

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"gatehouse/server/problem"
)

// Page is a parsed page request.
type Page struct {
	Page, PerPage int
}

// Offset is the row offset of the page.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }

// MaxPerPage is the hard page-size cap of every list endpoint.
const MaxPerPage = 100

// ParsePage reads page and perPage from the query (defaults 1 and def).
func ParsePage(c *gin.Context, def int) (Page, error) {
	p := Page{Page: 1, PerPage: def}
	fields := problem.Fields{}
	if s := c.Query("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			fields.Add("page", "must be a whole number from 1")
		} else {
			p.Page = n
		}
	}
	if s := c.Query("perPage"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPerPage {
			fields.Add("perPage", "must be a whole number from 1 to "+strconv.Itoa(MaxPerPage))
		} else {
			p.PerPage = n
		}
	}
	if len(fields) > 0 {
		return p, &problem.Error{Kind: problem.BadRequest, Code: "invalid_query", Message: "Some query parameters are not valid.", Fields: fields}
	}
	return p, nil
}
