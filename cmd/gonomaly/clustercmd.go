package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/cluster"
)

// newClusterCmd is 'gonomaly cluster': look at a cluster, or delete what it keeps on NATS.
func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Look at a cluster on NATS JetStream, or delete it",
		Long: `cluster shows a cluster's queue and workers (status), or deletes everything the cluster
keeps on its NATS server (delete): its job stream, job states, worker records, and the models,
inputs and results in its object store. See docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newClusterStatusCmd(), newClusterDeleteCmd())
	return cmd
}

func newClusterStatusCmd() *cobra.Command {
	var cl clusterFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status --nats nats://host:4222",
		Short: "Show a cluster's queue and its workers with the jobs they run",
		Long: `status prints a cluster's queue (jobs queued, running, handed out more than once) and
its live workers with the job each runs and how far it got. 'gonomaly performance monitor
--nats' shows the same, refreshed.`,
		Example: `  gonomaly cluster status --nats nats://127.0.0.1:4222
  gonomaly cluster status --nats nats://10.0.0.2:4222 --cluster batch --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, st, err := openCluster(cmd, &cl, "gonomaly cluster status")
			if err != nil {
				return err
			}
			conn.Close()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return st.WriteText(cmd.OutOrStdout())
		},
	}
	cl.addWatch(cmd.Flags(), "NATS server URL, e.g. nats://127.0.0.1:4222")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func newClusterDeleteCmd() *cobra.Command {
	var cl clusterFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "delete --nats nats://host:4222 --cluster NAME",
		Short: "Delete everything a cluster keeps on its NATS server",
		Long: `delete removes a cluster's job stream, job states, worker records and object store (stored
models, inputs and results) from its NATS server. It refuses while the cluster has live
workers or jobs queued or running, unless --force: those jobs would be lost, and running
workers would recreate the cluster empty.`,
		Example: `  gonomaly cluster delete --nats nats://127.0.0.1:4222 --cluster bench1234`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cl.resolve() != "" && !cmd.Flags().Changed("cluster") {
				return usagef("--cluster is required: the name of the cluster to delete (the default's is %q)", cl.name)
			}
			conn, st, err := openCluster(cmd, &cl, "gonomaly cluster delete")
			if err != nil {
				return err
			}
			defer conn.Close()
			if busy := len(st.Workers) > 0 || st.Queued > 0 || st.Running > 0; busy && !force {
				return fmt.Errorf("cluster %s has %d workers alive, %d jobs queued and %d running: stop them first, or give --force to lose them",
					st.Name, len(st.Workers), st.Queued, st.Running)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 20*time.Second)
			defer cancel()
			if err := conn.Destroy(ctx); err != nil {
				return fmt.Errorf("cluster %s: deleting it: %w", st.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted cluster %s on %s: its job stream, job states, worker records and object store\n",
				st.Name, redactURL(cl.url))
			return nil
		},
	}
	cl.addWatch(cmd.Flags(), "NATS server URL, e.g. nats://127.0.0.1:4222")
	cmd.Flags().BoolVar(&force, "force", false, "delete even while workers are alive or jobs are queued or running")
	return cmd
}

// openCluster connects to the cluster cl names and reads its status; the caller closes the
// connection.
func openCluster(cmd *cobra.Command, cl *clusterFlags, client string) (*cluster.Conn, *cluster.Status, error) {
	if cl.resolve() == "" {
		return nil, nil, usagef("--nats is required (or $%s)", EnvNATSURL)
	}
	conn, err := cl.connect(cmd.Context(), client)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	st, err := conn.Status(ctx)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, st, nil
}
