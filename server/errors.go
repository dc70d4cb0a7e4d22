package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Error codes: stable, documented in docs/api.md, for clients to branch on.
const (
	CodeBadRequest   = "bad_request"  // the request is malformed (JSON syntax, wrong types, unknown fields)
	CodeInvalidData  = "invalid_data" // the data is well-formed but unusable (NaN, ragged, wrong width, empty)
	CodeInvalidParam = "invalid_parameter"
	CodeNotFound     = "not_found"
	CodeNotFitted    = "not_fitted"
	CodeUnauthorized = "unauthorized"
	CodeTooLarge     = "body_too_large"
	CodeUnsupported  = "unsupported_media_type"
	CodeTimeout      = "timeout"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// apiError is an error with the status and code it is answered with.
type apiError struct {
	Status int
	Code   string
	Msg    string
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gonomaly"`)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Msg, Code: e.Code})
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
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body: data after the JSON value")
	}
	return nil
}

func jsonError(err error) *apiError {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		maxb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxb):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body over the limit of %d bytes", maxb.Limit)
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, CodeBadRequest, "malformed JSON at byte %d: %v (JSON has no NaN or Infinity)", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return errorf(http.StatusBadRequest, CodeBadRequest, "field %q: got JSON %s, want %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, CodeBadRequest, "empty request body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, CodeBadRequest, "malformed JSON: the body ends early")
	default:
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body: %v", err)
	}
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
