package fileconf

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		yaml, json string
		want       time.Duration
		err        string
	}{
		{yaml: `"60s"`, json: `"60s"`, want: time.Minute},
		{yaml: `1m30s`, json: `"1m30s"`, want: 90 * time.Second},
		{yaml: `0.25`, json: `0.25`, want: 250 * time.Millisecond},
		{yaml: `"500us"`, json: `"500us"`, want: 500 * time.Microsecond},
		{yaml: `2`, json: `2`, want: 2 * time.Second},
		{yaml: `"2"`, json: `"2"`, err: `want "60s"`},          // a string must carry a unit
		{yaml: `lots`, json: `"lots"`, err: `duration "lots"`}, // neither
		{yaml: `9223372036.854775807`, json: `-9223372036.854775808`, err: "out of range"},
		{yaml: `.nan`, json: `"NaN"`, err: "want"},
		{yaml: `[1]`, json: `[1]`, err: "want"},
		{yaml: `"` + strings.Repeat("9", 5000) + `s"`, json: `"` + strings.Repeat("9", 5000) + `s"`, err: `want "60s"`},
	} {
		var y, j Duration
		ey := yaml.Unmarshal([]byte("d: "+tt.yaml), &struct {
			D *Duration `yaml:"d"`
		}{&y})
		ej := json.Unmarshal([]byte(tt.json), &j)
		for _, c := range []struct {
			name string
			got  Duration
			err  error
		}{{"yaml " + tt.yaml, y, ey}, {"json " + tt.json, j, ej}} {
			name := c.name[:min(len(c.name), 60)]
			switch {
			case tt.err == "" && (c.err != nil || time.Duration(c.got) != tt.want):
				t.Errorf("%s: %v, %v; want %v", name, time.Duration(c.got), c.err, tt.want)
			case tt.err != "" && (c.err == nil || !strings.Contains(c.err.Error(), tt.err) || len(c.err.Error()) > 200):
				t.Errorf("%s: error %v; want a short one containing %q", name, c.err, tt.err)
			}
		}
	}
}
