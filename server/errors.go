package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/store"
)

// Error codes: stable, documented in docs/api.md, for clients to branch on.
const (
	CodeBadRequest       = "bad_request"  // the request is malformed (JSON syntax, wrong types, unknown fields)
	CodeInvalidData      = "invalid_data" // the data is well-formed but unusable (NaN, ragged, wrong width, empty)
	CodeInvalidParam     = "invalid_parameter"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTooManyJobs      = "too_many_jobs"
	CodeNotFitted        = "not_fitted"
	CodeConflict         = "conflict" // the detector changed, or was deleted, while it was being trained
	CodeUnauthorized     = "unauthorized"
	CodeTooLarge         = "body_too_large"
	CodeUnsupported      = "unsupported_media_type"
	CodeTimeout          = "timeout"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// apiError is an error with the status and code it is answered with. Cause, when set, is the
// error behind a 5xx: it is logged, never sent.
type apiError struct {
	Status int
	Code   string
	Msg    string
	Cause  error
}

func (e *apiError) Error() string { return e.Msg }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// Encoded before the header goes out: a value JSON cannot hold (a NaN) must become a 500,
	// not a 200 with an empty body.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		_ = enc.Encode(errorBody{Error: "internal error", Code: CodeInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gonomaly"`)
	}
	writeJSON(w, e.Status, errorBody{Error: truncate(e.Msg, maxErrorText), Code: e.Code})
}

// maxErrorText bounds an error message: a message quoting a client's input must not send
// megabytes of it back.
const maxErrorText = 1024

// truncate cuts s to at most n bytes (on a rune boundary), marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// The mark, " (N more bytes)" after an ellipsis, counts in the n bytes.
	mark := func(cut int) string { return "… (" + strconv.Itoa(len(s)-cut) + " more bytes)" }
	cut := max(n-len(mark(n)), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark(cut)
}

// jsonKind names a Go type as the JSON value it decodes from, for a client's error message.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// layerPrefixes are the package names our errors start with ("detector: ..."): useful in a
// log, noise to a client, who should read the message in its own terms.
var layerPrefixes = strings.NewReplacer(
	": detector: ", ": ", ": dataset: ", ": ", ": store: ", ": ", ": server: ", ": ", ": cache: ", ": ",
	// The standard library's package names, and the store's sentinel at the end of a message
	// that already says what is wrong.
	"json: ", "", "http: ", "", "multipart: ", "", "mime: ", "", ": invalid record", "",
)

// plain is err's message for a client: without our package prefixes.
func plain(err error) string {
	msg := err.Error()
	for _, p := range []string{"detector: ", "dataset: ", "store: ", "server: ", "cache: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return layerPrefixes.Replace(msg)
}

// decodeJSON reads one JSON value from the request body into v, with the size limit already
// applied by the middleware, and turns each way of failing into a 4xx the client can act on.
func decodeJSON(r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); !jsonContentType(ct) {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content type %q: send application/json", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body: more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		if e := bodyError(err); e != nil {
			return e // the body failed after the value: a bad gzip trailer, the time or size limit
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body: data after the JSON value")
	}
	return nil
}

func jsonError(err error) *apiError {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		rows *rowsError
	)
	if e := bodyError(err); e != nil {
		return e
	}
	switch {
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, CodeBadRequest, "malformed JSON at byte %d: %v (JSON has no NaN or Infinity)", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(http.StatusBadRequest, CodeBadRequest, "request body: got JSON %s, want a JSON object", typ.Value)
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "field %q: got JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type))
	case errors.As(err, &rows):
		return errorf(http.StatusBadRequest, rows.code, "%s", rows.msg)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, CodeBadRequest, "empty request body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, CodeBadRequest, "malformed JSON: the body ends early")
	default:
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body: %s", plain(err))
	}
}

// bodyError maps the errors of reading a request body that are not about its content: over
// the size limit, not received in time, a bad Content-Encoding. Others give nil.
func bodyError(err error) *apiError {
	var maxb *http.MaxBytesError
	switch {
	case errors.As(err, &maxb):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body over the limit of %d bytes", maxb.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(http.StatusRequestTimeout, CodeTimeout, "the request body was not received in time")
	case errors.Is(err, errBadEncoding):
		return errorf(http.StatusBadRequest, CodeBadRequest, "%s", plain(err))
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "the multipart form is over the limit")
	}
	return nil
}

// jsonContentType accepts JSON's media types, none, and the two that clients send by default
// for a body (curl -d sends application/x-www-form-urlencoded): the body is parsed as JSON and
// must be JSON either way.
func jsonContentType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case ct == "", mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/x-www-form-urlencoded", mt == "text/plain":
		return true
	}
	return false
}

// toAPI maps an error from the store, the detectors or the data readers to its answer. The
// message of a 4xx is the error's own, in the client's terms; a 5xx says only "internal
// error" and keeps the error as its Cause, for the log: a driver's or a library's text never
// reaches a client.
func toAPI(err error) *apiError {
	var ae *apiError
	var pe *dataset.ParseError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "%s", plain(err))
	case errors.Is(err, detector.ErrUnknown), errors.Is(err, detector.ErrBadParameter), errors.Is(err, store.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidParam, "%s", plain(err))
	case errors.Is(err, detector.ErrNotFitted):
		return errorf(http.StatusConflict, CodeNotFitted, "%s", plain(err))
	case errors.As(err, &pe), errors.Is(err, detector.ErrDimension), errors.Is(err, detector.ErrTooFewRows),
		errors.Is(err, detector.ErrNonFiniteInput), errors.Is(err, detector.ErrOverflow), errors.Is(err, dataset.ErrRagged):
		return errorf(http.StatusBadRequest, CodeInvalidData, "%s", plain(err))
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, "%s", plain(err))
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, CodeTimeout, "the request took longer than the server allows")
	case errors.Is(err, store.ErrPoolTimeout):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Msg: "the database is busy: try again shortly", Cause: err}
	case errors.Is(err, optimize.ErrClosed):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down")
	case errors.Is(err, context.Canceled):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the request was cancelled")
	default:
		return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Msg: "internal error", Cause: err}
	}
}

// query parses r's query string, refusing what r.URL.Query would quietly drop (a malformed
// escape such as %zz) and values no name or id can hold (a NUL byte, invalid UTF-8).
func query(r *http.Request) (url.Values, *apiError) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query string: %s", plain(err))
	}
	for k, vs := range q {
		for _, v := range vs {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k+v, 0) {
				return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter %s: a NUL byte or invalid UTF-8", strconv.Quote(truncate(k, 64)))
			}
		}
	}
	return q, nil
}
