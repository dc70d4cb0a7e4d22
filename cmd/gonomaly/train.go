package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/detector"
)

type trainFlags struct {
	modelFlags
	model string
	json  bool
}

// trainResult is the JSON document `train --json` prints.
type trainResult struct {
	Algorithm     string         `json:"algorithm"`
	Model         string         `json:"model"`
	Rows          int            `json:"rows"`
	Cols          int            `json:"cols"`
	FitSeconds    float64        `json:"fit_seconds"`
	Threshold     float64        `json:"threshold"`
	Contamination float64        `json:"contamination"`
	Params        map[string]any `json:"params"`
}

func newTrainCmd() *cobra.Command {
	f := &trainFlags{}
	cmd := &cobra.Command{
		Use:   "train --algorithm NAME --input FILE --model FILE [flags]",
		Short: "Fit a detector on a CSV or Parquet file and save the model",
		Long: `train fits a detector on every row of a CSV or Parquet file and saves it, with its parameters and
its anomaly threshold (the (1 - contamination) quantile of the training scores), to a model
file that 'gonomaly detect --model' and the service load.

` + algorithmHelp(),
		Example: `  gonomaly train --algorithm isolation_forest --input train.csv --label label --model forest.gnm
  gonomaly detect --model forest.gnm --input new.csv --output scores.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrain(cmd, f) },
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVarP(&f.model, "model", "m", "", "write the fitted model to this file")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as one JSON object on stdout")
	cmd.MarkFlagRequired("algorithm")
	cmd.MarkFlagRequired("input")
	cmd.MarkFlagRequired("model")
	return cmd
}

func runTrain(cmd *cobra.Command, f *trainFlags) error {
	m, err := f.newModel(cmd)
	if err != nil {
		return err
	}
	prog := newProgress(cmd.ErrOrStderr(), f.json)
	defer prog.clear()
	ctx := detector.WithProgress(cmd.Context(), prog.report)
	tab, fr, err := f.fitInput(ctx, cmd.ErrOrStderr(), prog, m)
	if err != nil {
		return err
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	// Written beside the model file and renamed over it, so a failed save leaves a model
	// already there intact.
	if err := writeFileAtomic(f.model, b); err != nil {
		return fmt.Errorf("saving the model: %w", err)
	}
	res := trainResult{m.Algorithm, f.model, tab.X.Rows, tab.X.Cols, (fr.FitTime + fr.ScoreTime).Seconds(), m.Threshold, m.Contamination, m.Params}
	if f.json {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "trained %s on %d x %d in %.3f s; threshold %.6g; model saved to %s\n",
		res.Algorithm, res.Rows, res.Cols, res.FitSeconds, res.Threshold, res.Model)
	return nil
}
