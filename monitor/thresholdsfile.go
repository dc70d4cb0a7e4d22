package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gonomaly/gonomaly/internal/fileconf"
)

// MaxThresholdsFileBytes is the largest thresholds file LoadThresholds reads.
const MaxThresholdsFileBytes = 1 << 20

// LoadThresholds reads thresholds from a YAML file (.yaml, .yml) or a JSON file (.json),
// over DefaultThresholds: a field the file leaves out keeps its default, an operation's
// field left out takes the file's top-level value. Durations are strings ("60s", "250ms")
// or numbers of seconds. The reading is strict: an unknown field, a value of the wrong
// type, and every limit Validate refuses are errors naming the file (and the line, for
// YAML's type errors); so is a file larger than MaxThresholdsFileBytes. A YAML example:
//
//	warning_execution_time: 60s
//	max_execution_time: 300s
//	warning_memory_mb: 2048
//	max_memory_mb: 4096
//	warning_cpu_percent: 80
//	max_cpu_percent: 95
//	min_throughput: 10        # operations a second, for the operations listed below
//	warning_error_rate: 0.05
//	max_error_rate: 0.25
//	min_operations: 20
//	operations:
//	  POST /api/v1/detection/predict:
//	    warning_execution_time: 250ms
//	    max_execution_time: 1s
//	    min_throughput: 5
//	  POST /api/v1/detectors/{id}/train:
//	    min_throughput: 0       # no floor: training is rare
func LoadThresholds(path string) (Thresholds, error) {
	t, err := loadThresholds(path)
	if err != nil {
		return Thresholds{}, fmt.Errorf("thresholds %s: %w", path, err)
	}
	return t, nil
}

func loadThresholds(path string) (Thresholds, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".yaml" && ext != ".yml" && ext != ".json" {
		return Thresholds{}, fmt.Errorf("extension %q: want .yaml, .yml or .json", ext)
	}
	b, err := fileconf.ReadFile(path, MaxThresholdsFileBytes)
	if err != nil {
		return Thresholds{}, err
	}
	var file thresholdsFile
	if ext == ".json" {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return Thresholds{}, fmt.Errorf("json: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) { // More is false before a stray ] or }
			return Thresholds{}, errors.New("json: more in the file after its value")
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) { // an empty file: the defaults
			return Thresholds{}, err
		}
	}
	t := file.apply(DefaultThresholds())
	if err := t.validate(); err != nil {
		return Thresholds{}, err
	}
	return t, nil
}

// thresholdsFile is a thresholds file: a nil field is one the file leaves out.
type thresholdsFile struct {
	WarningExecutionTime *fileDuration               `yaml:"warning_execution_time" json:"warning_execution_time"`
	MaxExecutionTime     *fileDuration               `yaml:"max_execution_time" json:"max_execution_time"`
	WarningMemoryMB      *float64                    `yaml:"warning_memory_mb" json:"warning_memory_mb"`
	MaxMemoryMB          *float64                    `yaml:"max_memory_mb" json:"max_memory_mb"`
	WarningCPUPercent    *float64                    `yaml:"warning_cpu_percent" json:"warning_cpu_percent"`
	MaxCPUPercent        *float64                    `yaml:"max_cpu_percent" json:"max_cpu_percent"`
	MinThroughput        *float64                    `yaml:"min_throughput" json:"min_throughput"`
	WarningErrorRate     *float64                    `yaml:"warning_error_rate" json:"warning_error_rate"`
	MaxErrorRate         *float64                    `yaml:"max_error_rate" json:"max_error_rate"`
	MinOperations        *int                        `yaml:"min_operations" json:"min_operations"`
	Cores                *int                        `yaml:"cores" json:"cores"`
	Operations           map[string]opThresholdsFile `yaml:"operations" json:"operations"`
}

type opThresholdsFile struct {
	WarningExecutionTime *fileDuration `yaml:"warning_execution_time" json:"warning_execution_time"`
	MaxExecutionTime     *fileDuration `yaml:"max_execution_time" json:"max_execution_time"`
	MinThroughput        *float64      `yaml:"min_throughput" json:"min_throughput"`
	WarningErrorRate     *float64      `yaml:"warning_error_rate" json:"warning_error_rate"`
	MaxErrorRate         *float64      `yaml:"max_error_rate" json:"max_error_rate"`
}

func thrSetIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func thrSetDurationIf(dst *time.Duration, v *fileDuration) {
	if v != nil {
		*dst = time.Duration(*v)
	}
}

func (f *thresholdsFile) apply(t Thresholds) Thresholds {
	thrSetDurationIf(&t.WarningExecutionTime, f.WarningExecutionTime)
	thrSetDurationIf(&t.MaxExecutionTime, f.MaxExecutionTime)
	thrSetIf(&t.WarningMemoryMB, f.WarningMemoryMB)
	thrSetIf(&t.MaxMemoryMB, f.MaxMemoryMB)
	thrSetIf(&t.WarningCPUPercent, f.WarningCPUPercent)
	thrSetIf(&t.MaxCPUPercent, f.MaxCPUPercent)
	thrSetIf(&t.MinThroughput, f.MinThroughput)
	thrSetIf(&t.WarningErrorRate, f.WarningErrorRate)
	thrSetIf(&t.MaxErrorRate, f.MaxErrorRate)
	thrSetIf(&t.MinOperations, f.MinOperations)
	thrSetIf(&t.Cores, f.Cores)
	if len(f.Operations) > 0 {
		t.Operations = make(map[string]OpThresholds, len(f.Operations))
		for name, of := range f.Operations {
			o := t.defaults()
			thrSetDurationIf(&o.WarningExecutionTime, of.WarningExecutionTime)
			thrSetDurationIf(&o.MaxExecutionTime, of.MaxExecutionTime)
			thrSetIf(&o.MinThroughput, of.MinThroughput)
			thrSetIf(&o.WarningErrorRate, of.WarningErrorRate)
			thrSetIf(&o.MaxErrorRate, of.MaxErrorRate)
			t.Operations[name] = o
		}
	}
	return t
}

// fileDuration is a duration in a configuration file: "60s", "500us" or seconds.
type fileDuration = fileconf.Duration
