package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/gonomaly/gonomaly/loadtest"
)

// apiClient makes the few calls to a running service's API that performance loadtest and
// performance tune need around their load: checking, creating, training and deleting a
// detector, and the admin endpoint's settings.
type apiClient struct {
	base, key string
	http      *http.Client
}

const (
	apiMaxAnswerBytes = 1 << 20         // an answer read from the service
	apiSetupTimeout   = 5 * time.Minute // creating and training a throwaway detector
)

// do sends a JSON request to base+path and decodes a 2xx answer into out (when not nil).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.doStatus(ctx, method, path, body, out)
	return err
}

// doStatus is do that also returns the answer's status (0 when there was none). body is nil,
// a []byte sent as it is, or a value sent as JSON. Anything but a 2xx answer is an error in the
// user's terms: the service's own message, or why it could not be reached.
func (c *apiClient) doStatus(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach the service at %s: %s", c.base, reachErr(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, apiMaxAnswerBytes+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading the answer of %s %s: %s", method, path, reachErr(err))
	}
	if len(raw) > apiMaxAnswerBytes {
		return resp.StatusCode, fmt.Errorf("%s %s: the answer is over %d bytes", method, c.base+path, apiMaxAnswerBytes)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := resp.Status
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg += ": " + ltCut(e.Error, 300)
		} else if len(raw) > 0 {
			msg += ": " + ltCut(string(raw), 200)
		}
		return resp.StatusCode, fmt.Errorf("%s %s: %s", method, c.base+path, msg)
	}
	if out != nil && json.Unmarshal(raw, out) != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: the answer is not the JSON expected (is --url the API base, e.g. http://host:8080/api/v1?)", method, c.base+path)
	}
	return resp.StatusCode, nil
}

// reachErr says why a request got no answer, without addresses the user did not give.
func reachErr(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is gonomaly serve running there?)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &ue):
		return ltCut(ue.Err.Error(), 200)
	}
	return ltCut(err.Error(), 200)
}

// checkDetector checks that the detector exists and returns its width (0 when untrained) and
// whether it is trained.
func (c *apiClient) checkDetector(ctx context.Context, id string) (cols int, fitted bool, err error) {
	var d struct {
		IsFitted  bool `json:"is_fitted"`
		NFeatures int  `json:"n_features"`
	}
	status, err := c.doStatus(ctx, "GET", "/detectors/"+url.PathEscape(id), nil, &d)
	if status == http.StatusNotFound {
		return 0, false, fmt.Errorf("--detector %s: no such detector at %s", id, c.base)
	}
	if err != nil {
		return 0, false, err
	}
	return d.NFeatures, d.IsFitted && d.NFeatures > 0, nil
}

// throwaway creates an isolation forest named for who ("loadtest", "tune") and, when train,
// trains it on rows x cols generated values; the caller deletes it with deleteDetector.
func (c *apiClient) throwaway(ctx context.Context, stderr io.Writer, who string, rows, cols int, seed uint64, train bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, apiSetupTimeout)
	defer cancel()
	var d struct {
		ID string `json:"id"`
	}
	body := map[string]any{"name": "gonomaly-" + who + " (throwaway)", "algorithm": "isolation_forest"}
	if err := c.do(ctx, "POST", "/detectors", body, &d); err != nil {
		return "", fmt.Errorf("creating the throwaway detector: %w", err)
	}
	if d.ID == "" {
		return "", errors.New("creating the throwaway detector: the service answered no id")
	}
	if !train {
		return d.ID, nil
	}
	tb, err := loadtest.TrainBody(d.ID, rows, cols, seed)
	if err == nil {
		err = c.train(ctx, tb)
	}
	if err != nil {
		c.deleteDetector(ctx, stderr, who, d.ID)
		return "", fmt.Errorf("training the throwaway detector: %w", err)
	}
	return d.ID, nil
}

// deleteDetector deletes a throwaway detector, even after an interruption.
func (c *apiClient) deleteDetector(ctx context.Context, stderr io.Writer, who, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.do(dctx, "DELETE", "/detectors/"+url.PathEscape(id), nil, nil); err != nil {
		fmt.Fprintf(stderr, "%s: could not delete the throwaway detector %s: %v\n", who, id, err)
	}
}

// train posts a train body and, when the service answers 202 (still running), waits for its
// job, up to apiSetupTimeout; a failed job is an error with the job's reason.
func (c *apiClient) train(ctx context.Context, body []byte) error {
	var j struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  *struct {
			Error string `json:"error"`
		} `json:"error"`
	}
	status, err := c.doStatus(ctx, "POST", loadtest.TrainPath, body, &j)
	if err != nil || status != http.StatusAccepted {
		return err
	}
	deadline := time.Now().Add(apiSetupTimeout)
	for j.Status == "running" {
		if time.Now().After(deadline) {
			return fmt.Errorf("the training job did not finish in %v", apiSetupTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if err := c.do(ctx, "GET", "/jobs/"+url.PathEscape(j.ID), nil, &j); err != nil {
			return err
		}
	}
	if j.Status != "succeeded" {
		msg := "no reason given"
		if j.Error != nil {
			msg = ltCut(j.Error.Error, 300)
		}
		return fmt.Errorf("the training job %s: %s", j.Status, msg)
	}
	return nil
}
