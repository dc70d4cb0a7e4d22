package backend

import (
	"strconv"
	"strings"
)

// Query builds the WHERE clause and arguments of a listing with numbered placeholders ($1,
// $2, ...), which PostgreSQL and SQLite both accept.
type Query struct {
	conds []string
	Args  []any
}

// Arg adds an argument and returns its placeholder.
func (q *Query) Arg(v any) string {
	q.Args = append(q.Args, v)
	return "$" + strconv.Itoa(len(q.Args))
}

// Where adds a condition; each ? in cond becomes the placeholder of the next of args.
func (q *Query) Where(cond string, args ...any) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(cond, '?')
		b.WriteString(cond[:i])
		b.WriteString(q.Arg(a))
		cond = cond[i+1:]
	}
	b.WriteString(cond)
	q.conds = append(q.conds, b.String())
}

// Clause is " WHERE c1 AND c2 ...", or "" with no conditions.
func (q *Query) Clause() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// Page is " LIMIT $n OFFSET $m" for a listing's Limit and Offset.
func (q *Query) Page(limit, offset int) string {
	return " LIMIT " + q.Arg(Limit(limit)) + " OFFSET " + q.Arg(Offset(offset))
}
