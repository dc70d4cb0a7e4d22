package backend

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
)

// ValidID is store.ValidID.
func ValidID(id string) bool { return store.ValidID(id) }

// ShowID is id as an error message shows it: as it is when well-formed, else quoted and cut
// to 40 characters, so that a hostile id (10 KB, control bytes) does not fill or garble the
// message.
func ShowID(id string) string {
	switch {
	case ValidID(id) || id == "":
		return id
	case len(id) > 40:
		return fmt.Sprintf("%.40q...", id)
	default:
		return fmt.Sprintf("%q", id)
	}
}

// badText describes why s cannot be stored as text: a NUL byte (PostgreSQL's text cannot
// hold one, SQLite's would), bytes that are not UTF-8 (PostgreSQL refuses them, SQLite keeps
// them), or more than max bytes (max <= 0: no limit). It returns "" for good text.
func badText(s string, max int) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case max > 0 && len(s) > max:
		return fmt.Sprintf("is %d bytes long, more than %d", len(s), max)
	}
	return ""
}

// textField is one text field of a record, for checkText.
type textField struct {
	name  string // as errors name it: "name", "file format", ...
	value string
	max   int // at most this many bytes; <= 0: no limit
}

// checkText checks the text fields of the record what (with id, "" when none).
func checkText(what, id string, fields ...textField) error {
	for _, f := range fields {
		if why := badText(f.value, f.max); why != "" {
			return invalid(what, id, "%s %s", f.name, why)
		}
	}
	return nil
}

// checkNewID checks an id a caller gave a new record: empty (the store assigns one) or
// well-formed.
func checkNewID(what, id string) error {
	if id != "" && !ValidID(id) {
		return fmt.Errorf("store: %s: id %s is not a UUID (8-4-4-4-12 lower-case hex digits): %w", what, ShowID(id), store.ErrInvalid)
	}
	return nil
}

// checkFilter checks the text of a listing's filter: text with a NUL byte or that is not
// UTF-8 can match no record, and PostgreSQL would refuse it.
func checkFilter(what string, fields ...textField) error {
	for _, f := range fields {
		if why := badText(f.value, 0); why != "" {
			return fmt.Errorf("store: list %s: filter %s %s: %w", what, f.name, why, store.ErrInvalid)
		}
	}
	return nil
}

// checkLabels checks a label set's keys and values.
func checkLabels(what string, labels map[string]string, max int) error {
	for k, v := range labels {
		if why := badText(k, max); why != "" {
			return fmt.Errorf("store: %s: label key %.40q %s: %w", what, k, why, store.ErrInvalid)
		}
		if why := badText(v, max); why != "" {
			return fmt.Errorf("store: %s: label %.40q value %s: %w", what, k, why, store.ErrInvalid)
		}
	}
	return nil
}

// notFound is the error of a get, update or delete of what by an id that names no record.
func notFound(what, id string) error {
	return fmt.Errorf("store: %s %s: %w", what, ShowID(id), store.ErrNotFound)
}
