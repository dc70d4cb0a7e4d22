package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/cluster"
	"github.com/gonomaly/gonomaly/monitor"
)

// monitorView is what performance monitor prints: the service's status, the cluster's, or
// both.
type monitorView struct {
	status  *monitor.Status
	cluster *cluster.Status
}

// withCluster returns how to read the view: the service's status (from --url or the store),
// the cluster's (from --nats), or both; --nats alone reads only the cluster.
func (f *monitorFlags) withCluster(cmd *cobra.Command) (func(context.Context) (monitorView, error), string, func(), error) {
	ctx := cmd.Context()
	var get func(context.Context) (monitor.Status, error)
	source, closeFn := "", func() {}
	natsOnly := f.cl.resolve() != "" && f.url == "" && f.database == ""
	if !natsOnly {
		var err error
		if get, source, closeFn, err = f.source(ctx); err != nil {
			return nil, "", nil, err
		}
	}
	var conn *cluster.Conn
	if f.cl.url != "" {
		var err error
		if conn, err = f.cl.connect(ctx, "gonomaly monitor"); err != nil {
			closeFn()
			return nil, "", nil, err
		}
		prev := closeFn
		closeFn = func() { conn.Close(); prev() }
	}
	return func(ctx context.Context) (monitorView, error) {
		var v monitorView
		if get != nil {
			s, err := get(ctx)
			if err != nil {
				return v, err
			}
			v.status = &s
		}
		if conn != nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			cs, err := conn.Status(cctx)
			if err != nil {
				return v, fmt.Errorf("monitor: %w", err)
			}
			v.cluster = cs
		}
		return v, nil
	}, source, closeFn, nil
}
