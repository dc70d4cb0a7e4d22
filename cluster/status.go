package cluster

import (
	"context"
	"fmt"
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
