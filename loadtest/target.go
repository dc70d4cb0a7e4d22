package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Target is one request: its method, URL and body. A Target handed out by a Targeter is shared
// by concurrent requests and must not be modified.
type Target struct {
	Method string
	URL    string
	Body   []byte

	// u is URL parsed once (NewTargets), so no request parses it again.
	u *url.URL
}

// Targeter gives the request of each sequence number, 0, 1, 2, ... It is called by many
// goroutines at once and should neither allocate nor block: it sits on the generator's hot
// path. (vegeta's Targeter, without the error: targets are built and checked before the run.)
type Targeter interface {
	Target(seq uint64) *Target
}

// Targets is a Targeter that hands out its targets in turn: request seq gets
// Targets[seq % len(Targets)].
type Targets []Target

// Target implements Targeter.
func (ts Targets) Target(seq uint64) *Target { return &ts[seq%uint64(len(ts))] }

// Limits on what the generator sends and reads.
const (
	// MaxBodies is the most distinct bodies a Targets may hold.
	MaxBodies = 100_000
	// MaxBodyBytes is the largest request body.
	MaxBodyBytes = 32 << 20
	// MaxBodiesBytes is the most bytes of bodies altogether (a body file, generated bodies).
	MaxBodiesBytes = 256 << 20
	// MaxRows and MaxCols bound a generated body.
	MaxRows = 100_000
	MaxCols = 10_000
)

// ErrTargets reports targets or bodies that cannot be used.
var ErrTargets = errors.New("loadtest: bad targets")

// NewTargets returns the targets that send each body to url with method (POST when empty).
// The URL must be absolute http or https.
func NewTargets(method, rawURL string, bodies [][]byte) (Targets, error) {
	if method == "" {
		method = "POST"
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("%w: no bodies", ErrTargets)
	}
	if len(bodies) > MaxBodies {
		return nil, fmt.Errorf("%w: %d bodies, at most %d", ErrTargets, len(bodies), MaxBodies)
	}
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	ts := make(Targets, len(bodies))
	for i, b := range bodies {
		if len(b) > MaxBodyBytes {
			return nil, fmt.Errorf("%w: body %d is %d bytes, at most %d", ErrTargets, i+1, len(b), MaxBodyBytes)
		}
		ts[i] = Target{Method: method, URL: u.String(), Body: b, u: u}
	}
	return ts, nil
}

// ParseURL checks that s is an absolute http or https URL with a host.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: URL %q: %v", ErrTargets, cut(s, 200), errText(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: URL %q: want http:// or https://", ErrTargets, cut(s, 200))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: URL %q: no host", ErrTargets, cut(s, 200))
	}
	return u, nil
}

// errText is a url.Error's cause without the repeated URL.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Endpoint paths under the API base (docs/api.md).
const (
	PredictPath = "/detection/predict"
	TrainPath   = "/detection/train"
)

// Endpoint joins the API base (http://host:8080/api/v1) and an endpoint path.
func Endpoint(base, path string) string { return strings.TrimRight(base, "/") + path }

// PredictBodies generates n distinct predict bodies for the detector, each
// {"detector_id": ID, "data": [[...], ...]} of rows rows of cols standard normal values, from
// the seed: the same arguments give the same bytes.
func PredictBodies(detectorID string, rows, cols, n int, seed uint64) ([][]byte, error) {
	return dataBodies(detectorID, rows, cols, n, seed)
}

// TrainBody generates one train body {"detector_id": ID, "data": [[...], ...]} of rows rows of
// cols standard normal values, from the seed.
func TrainBody(detectorID string, rows, cols int, seed uint64) ([]byte, error) {
	bs, err := dataBodies(detectorID, rows, cols, 1, seed)
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}

func dataBodies(detectorID string, rows, cols, n int, seed uint64) ([][]byte, error) {
	switch {
	case rows < 1 || rows > MaxRows:
		return nil, fmt.Errorf("%w: rows %d: want 1 to %d", ErrTargets, rows, MaxRows)
	case cols < 1 || cols > MaxCols:
		return nil, fmt.Errorf("%w: cols %d: want 1 to %d", ErrTargets, cols, MaxCols)
	case n < 1 || n > MaxBodies:
		return nil, fmt.Errorf("%w: %d bodies: want 1 to %d", ErrTargets, n, MaxBodies)
	}
	// A value takes at most 13 bytes ("-1.23456e-05,"); refuse before generating.
	if per := int64(rows)*int64(cols)*13 + int64(rows)*3 + 64 + int64(len(detectorID)); per > MaxBodyBytes || per*int64(n) > MaxBodiesBytes {
		return nil, fmt.Errorf("%w: %d bodies of %d x %d values would pass %d MiB", ErrTargets, n, rows, cols, MaxBodiesBytes>>20)
	}
	id, err := json.Marshal(detectorID)
	if err != nil {
		return nil, fmt.Errorf("%w: detector id: %v", ErrTargets, err)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	bodies := make([][]byte, n)
	for i := range bodies {
		b := make([]byte, 0, rows*cols*10+len(id)+32)
		b = append(b, `{"detector_id":`...)
		b = append(b, id...)
		b = append(b, `,"data":[`...)
		for r := range rows {
			if r > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for c := range cols {
				if c > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, rng.NormFloat64(), 'g', 6, 64)
			}
			b = append(b, ']')
		}
		bodies[i] = append(b, "]}"...)
	}
	return bodies, nil
}

// ReadBodies reads request bodies from r: one JSON object, or several (a JSON array of
// objects, or objects one after another, such as one per line). Each body is sent as it is
// written in the file, compacted. At most maxBytes are read (0 means MaxBodiesBytes) and at
// most MaxBodies bodies are kept; anything else (not JSON, a value that is not an object, an
// empty file) is an error that says where.
func ReadBodies(r io.Reader, maxBytes int64) ([][]byte, error) {
	if maxBytes <= 0 || maxBytes > MaxBodiesBytes {
		maxBytes = MaxBodiesBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading bodies: %v", ErrTargets, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of bodies", ErrTargets, maxBytes)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: no bodies (empty input)", ErrTargets)
	}
	var raws []json.RawMessage
	if trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if err := dec.Decode(&raws); err != nil {
			return nil, fmt.Errorf("%w: the array of bodies: %v", ErrTargets, jsonErr(err, trimmed))
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("%w: text after the array of bodies (at byte %d)", ErrTargets, dec.InputOffset()+int64(len(data)-len(trimmed)))
		}
		if len(raws) > MaxBodies {
			return nil, fmt.Errorf("%w: more than %d bodies", ErrTargets, MaxBodies)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%w: body %d: %v", ErrTargets, len(raws)+1, jsonErr(err, trimmed))
			}
			if len(raws) == MaxBodies {
				return nil, fmt.Errorf("%w: more than %d bodies", ErrTargets, MaxBodies)
			}
			raws = append(raws, raw)
		}
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: no bodies (an empty array)", ErrTargets)
	}
	bodies := make([][]byte, len(raws))
	for i, raw := range raws {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, fmt.Errorf("%w: body %d is not a JSON object (starts %q)", ErrTargets, i+1, cut(string(raw), 20))
		}
		if len(raw) > MaxBodyBytes {
			return nil, fmt.Errorf("%w: body %d is %d bytes, at most %d", ErrTargets, i+1, len(raw), MaxBodyBytes)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, fmt.Errorf("%w: body %d: %v", ErrTargets, i+1, err)
		}
		bodies[i] = b.Bytes()
	}
	return bodies, nil
}

// jsonErr names where in the input a JSON error is, in lines.
func jsonErr(err error, data []byte) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset <= int64(len(data)) {
		line := 1 + bytes.Count(data[:se.Offset], []byte{'\n'})
		return fmt.Sprintf("line %d: %v", line, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a %s where a JSON object was expected", te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the input ends inside a value"
	}
	return cut(err.Error(), 200)
}

// cut shortens s to at most n bytes of valid text for a message.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}
