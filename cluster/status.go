package cluster

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Status is what a cluster looks like now: its queue and its workers.
type Status struct {
	Name        string       `json:"name"`
	Queued      uint64       `json:"queued"`      // jobs no worker has taken
	Running     int          `json:"running"`     // jobs taken and not yet acknowledged
	Redelivered int          `json:"redelivered"` // of those, handed out more than once
	Workers     []WorkerInfo `json:"workers"`     // alive (heartbeat within 15 s), by name
	Checked     time.Time    `json:"checked"`
}

// Status reads the queue's depth from JetStream and the workers from their heartbeats.
func (c *Conn) Status(ctx context.Context) (*Status, error) {
	ci, err := c.cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: the queue: %w", c.opts.Name, err)
	}
	ws, err := c.Workers(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: the workers: %w", c.opts.Name, err)
	}
	if ws == nil {
		ws = []WorkerInfo{}
	}
	return &Status{Name: c.opts.Name, Queued: ci.NumPending, Running: ci.NumAckPending, Redelivered: ci.NumRedelivered,
		Workers: ws, Checked: time.Now().UTC()}, nil
}

// WriteText writes the status for a terminal: the queue, then a line a worker with the jobs
// it runs and how far they got.
func (s *Status) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("cluster %s: %d workers, %d jobs queued, %d running (%d handed out more than once)\n",
		s.Name, len(s.Workers), s.Queued, s.Running, s.Redelivered)
	if len(s.Workers) == 0 {
		ew.printf("  no worker alive: start 'gonomaly worker --nats URL --cluster %s'\n", s.Name)
		return ew.err
	}
	tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  worker\thost\tmachine\tslots\tdone\tfailed\tup\tnow")
	for _, wi := range s.Workers {
		now := "idle"
		if wi.Draining {
			now = "draining"
		}
		for i, j := range wi.Current {
			if i == 0 {
				now = ""
			} else {
				now += "; "
			}
			now += fmt.Sprintf("%s %s part %d (attempt %d): %d rows", j.Kind, j.Run, j.Part+1, j.Attempt, j.Rows)
			if j.Total > 0 {
				now += fmt.Sprintf(" of %d (%.0f %%)", j.Total, 100*float64(j.Rows)/float64(j.Total))
			}
			now += fmt.Sprintf(", %s", time.Since(j.Started).Round(time.Second))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", wi.Name, wi.Host, wi.Machine, wi.Slots, wi.Done, wi.Failed,
			time.Since(wi.Started).Round(time.Second), now)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
