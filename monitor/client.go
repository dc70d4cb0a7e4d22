package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// MaxStatusBytes bounds the answer FetchStatus reads (a status is a few kilobytes; a thousand
// detectors' health, a few hundred).
const MaxStatusBytes = 16 << 20

// FetchStatus reads a service's Status from GET base/api/performance/metrics. base is the
// service's address (http://host:8080; a trailing /api/v1 is accepted and dropped); key, when
// not empty, is sent as a bearer token. Errors name the address and what went wrong, never
// more than 200 bytes of the answer, its control characters replaced.
func FetchStatus(ctx context.Context, client *http.Client, base, key string) (Status, error) {
	var s Status
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, fmt.Errorf("monitor: service address %q: want http://HOST:PORT", base)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1") + "/api/performance/metrics"
	u.RawQuery, u.Fragment = "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return s, fmt.Errorf("monitor: %w", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return s, fmt.Errorf("monitor: %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxStatusBytes+1))
	if err != nil {
		return s, fmt.Errorf("monitor: %s: reading the answer: %w", u.Redacted(), err)
	}
	if len(body) > MaxStatusBytes {
		return s, fmt.Errorf("monitor: %s: answer larger than %d bytes", u.Redacted(), MaxStatusBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		status := cut(strings.Map(printable, resp.Status), 60) // the reason phrase is the service's too
		return s, fmt.Errorf("monitor: %s: %s: %s", u.Redacted(), status, cut(strings.Map(printable, msg), 200))
	}
	if objects, values := jsonCounts(body); objects > maxStatusObjects || values > maxStatusValues {
		return s, fmt.Errorf("monitor: %s: the answer is not a monitor status: more than %d objects or %d values", u.Redacted(), maxStatusObjects, maxStatusValues)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("monitor: %s: the answer is not a monitor status: %s", u.Redacted(), cut(err.Error(), 200))
	}
	return s, nil
}

// An answer's objects and values are bounded before it is decoded: each object becomes a
// struct of a few hundred bytes, so MaxStatusBytes of "{}," took 2.4 GB of heap (7 GB
// allocated); under these bounds at most 300 MB is allocated. A status of 10000 detectors, each
// with five features and three alerts, holds 120000 objects and 960000 values.
const (
	maxStatusObjects = 1 << 18
	maxStatusValues  = 1 << 21
)

// jsonCounts counts the objects ('{') and the values after the first in each object or
// array (',') of JSON text b, outside strings.
func jsonCounts(b []byte) (objects, values int) {
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{':
			objects++
		case c == ',':
			values++
		}
	}
	return objects, values
}
