package main

import (
	"encoding/json"
	"testing"

	"github.com/spf13/cobra"
)

// Every performance command builds its configuration by one rule (perfFlags.merge):
// defaults < preset < configuration file < flags the user set. A flag the user gives wins
// even when its value is the default; a flag left alone never overrides the file.
func TestPerformanceMergeRule(t *testing.T) {
	// build parses args as the command would and returns its configuration as JSON fields.
	type build func(t *testing.T, args []string) (map[string]any, error)
	asFields := func(t *testing.T, cfg any, err error) (map[string]any, error) {
		t.Helper()
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m, nil
	}
	parse := func(t *testing.T, cmd *cobra.Command, args []string) *cobra.Command {
		t.Helper()
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	commands := []struct {
		name  string
		base  []string // what the command needs to be valid
		field string   // the setting checked, by its name in a file
		flag  string   // and by its flag
		def   float64  // its default
		build build
	}{
		{"benchmark", nil, "iterations", "iterations", 3, func(t *testing.T, args []string) (map[string]any, error) {
			f := new(benchmarkFlags)
			cmd := parse(t, newBenchmarkCmd(f), args)
			cfg, err := f.build(cmd, cmd.Flags().Args())
			return asFields(t, cfg, err)
		}},
		{"scalability", []string{"-a", "hbos"}, "iterations", "iterations", 3, func(t *testing.T, args []string) (map[string]any, error) {
			f := new(scalabilityFlags)
			cfg, err := f.build(parse(t, newScalabilityCmd(f), args))
			return asFields(t, cfg, err)
		}},
		{"memory", []string{"-a", "hbos", "--max-memory-mb", "256"}, "base_size", "base-size", 1000, func(t *testing.T, args []string) (map[string]any, error) {
			f := new(memoryFlags)
			cfg, err := f.build(parse(t, newMemoryCmd(f), args))
			return asFields(t, cfg, err)
		}},
		{"compare", []string{"--algorithms", "hbos,ecod", "--dataset", wbc, "--label", "label"}, "iterations", "iterations", 5, func(t *testing.T, args []string) (map[string]any, error) {
			f := new(compareFlags)
			cmd := parse(t, newCompareCmd(f), args)
			cfg, err := f.build(cmd, cmd.Flags().Args())
			return asFields(t, cfg, err)
		}},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, "cfg.yaml", c.field+": 7\n")
			for _, tc := range []struct {
				name string
				args []string
				want float64
				seed float64
			}{
				{"default", nil, c.def, 0},
				{"flag", []string{"--" + c.flag, "4"}, 4, 0},
				{"file", []string{"--config", file}, 7, 0},
				{"file and another flag", []string{"--config", file, "--seed", "9"}, 7, 9},
				{"flag over file", []string{"--config", file, "--" + c.flag, "4"}, 4, 0},
				{"flag at its default over file", []string{"--config", file, "--" + c.flag, formatNum(c.def)}, c.def, 0},
			} {
				got, err := c.build(t, append(append([]string(nil), c.base...), tc.args...))
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got[c.field] != tc.want || got["seed"] != tc.seed {
					t.Errorf("%s %v: %s = %v, seed %v; want %v, seed %v", tc.name, tc.args, c.field, got[c.field], got["seed"], tc.want, tc.seed)
				}
			}
		})
	}

	// benchmark's preset sits between the defaults and the file: --suite, or the file's suite.
	b := commands[0].build
	standard := writeFile(t, "standard.yaml", "suite: standard\nname: mine\n")
	over := writeFile(t, "over.yaml", "iterations: 7\n")
	for _, tc := range []struct {
		args       []string
		iterations float64
		name       string
	}{
		{[]string{"--suite", "standard"}, 5, "standard"},
		{[]string{"--config", standard}, 5, "mine"},
		{[]string{"--suite", "standard", "--config", over}, 7, "standard"},
		{[]string{"--suite", "standard", "--config", over, "--iterations", "2", "--name", "n"}, 2, "n"},
	} {
		got, err := b(t, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got["iterations"] != tc.iterations || got["name"] != tc.name || got["suite"] != "standard" {
			t.Errorf("%v: suite %v, name %v, iterations %v; want standard, %s, %v", tc.args, got["suite"], got["name"], got["iterations"], tc.name, tc.iterations)
		}
	}
}

func formatNum(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
