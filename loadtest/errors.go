package loadtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
)

// errTooLarge is a response body past Options.MaxResponseBytes.
var errTooLarge = errors.New("response too large")

// errorKind names a request's failure so that failures group: stable short texts, never a
// connection's addresses or ports (which would make every connection a kind of its own).
func errorKind(err error) string {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	var ce *tls.CertificateVerificationError
	var dnse *net.DNSError
	switch {
	case errors.Is(err, errTooLarge):
		return "response too large"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local address free (too many connections)"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the service"
	case errors.As(err, &dnse):
		return "host not found"
	case errors.As(err, &ce):
		return "TLS certificate not trusted"
	case errors.As(err, &oe):
		return oe.Op + ": " + cut(oe.Err.Error(), 100)
	case errors.As(err, &ue):
		return cut(ue.Err.Error(), 100)
	}
	return cut(err.Error(), 100)
}

// statusKind names a failed answer: its status and, when the body is a JSON error of the
// gonomaly API ({"error": ..., "code": "unavailable"}), its code.
func statusKind(status int, body []byte) string {
	s := "HTTP " + strconv.Itoa(status)
	if c := errorCode(body); c != "" {
		return s + " " + c
	}
	if t := http.StatusText(status); t != "" {
		return s + " " + t
	}
	return s
}

// errorCode is the "code" of a JSON error body, when it is a short word of lower-case letters,
// digits and underscores; "" otherwise. body comes from the service under test: anything.
func errorCode(body []byte) string {
	if len(body) == 0 || body[0] != '{' {
		return ""
	}
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Code) == 0 || len(e.Code) > 40 {
		return ""
	}
	for i := 0; i < len(e.Code); i++ {
		c := e.Code[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return e.Code
}
