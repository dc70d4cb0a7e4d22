package backend

import (
	"fmt"

	"github.com/gonomaly/gonomaly/store"
)

// dbError is an error of the database that the store answers with one of its sentinel
// errors (a taken key, a missing referenced row, a value the database refuses). Its message
// is the store's own: a server shows the message of such an error to its client, and the
// database's text (constraint and column names, SQL, the offending values) is not for it.
// The database's error stays reachable with errors.As, for a log.
type dbError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *dbError) Error() string   { return e.msg }
func (e *dbError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// fail describes err, the error of a statement about what ("detector 0194...: create"): a
// violated unique key is store.ErrConflict, a violated foreign key store.ErrNotFound, a
// value the database refuses (a check, a range, text it cannot hold) store.ErrInvalid, each
// in the store's words; any other error (a lost connection, a cancelled context, a pool
// timeout) is wrapped as it is.
func (r *Records) fail(what string, err error) error {
	var sentinel error
	var why string
	switch {
	case r.d.IsUnique(err):
		sentinel, why = store.ErrConflict, "it already exists"
	case r.d.IsForeignKey(err):
		sentinel, why = store.ErrNotFound, "a record it refers to does not exist"
	case r.d.IsInvalid(err):
		sentinel, why = store.ErrInvalid, "the database refuses a value"
	default:
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return &dbError{msg: fmt.Sprintf("store: %s: %v: %s", what, sentinel, why), sentinel: sentinel, cause: err}
}
