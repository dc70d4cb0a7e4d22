package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// RampOptions configure Ramp: the open model at Start requests per second, then at rates
// stepped up by Step (added) or Factor (multiplied), each for Options.Duration, until a step
// misses the target or MaxSteps have run.
type RampOptions struct {
	// Options is each step's run: Targeter, MaxInFlight, MaxLag, Timeout, Header, Client,
	// Progress, and Duration, each step's length (required). Rate, Concurrency and Requests
	// must be zero: the ramp sets the rate.
	Options
	Start  float64 // the first step's rate (required)
	Step   float64 // added to the rate at each step; or
	Factor float64 // multiplies the rate at each step (more than 1); give one of Step and Factor
	// MaxSteps bounds the steps (default 10, at most MaxRampSteps).
	MaxSteps int
	// P99 is the target: a step holds when its p99 latency is at most P99 (required) and its
	// success rate at least MinSuccessRate (default 0.99).
	P99            time.Duration
	MinSuccessRate float64
	// OnStep, when set, is called after each step.
	OnStep func(RampStep)
}

// MaxRampSteps bounds RampOptions.MaxSteps.
const MaxRampSteps = 100

// RampStep is one step of a ramp.
type RampStep struct {
	Rate   float64 `json:"rate"`
	Pass   bool    `json:"pass"`
	Reason string  `json:"reason,omitempty"` // why the step missed the target
	Result *Result `json:"result"`
}

// Ramp stop reasons.
const (
	StopFailed   = "failed"    // a step missed the target
	StopMaxSteps = "max_steps" // every step held
	StopMaxRate  = "max_rate"  // the next rate would pass MaxRate
)

// RampResult is what a ramp found.
type RampResult struct {
	P99            time.Duration `json:"-"`
	MinSuccessRate float64       `json:"min_success_rate"`
	Steps          []RampStep    `json:"steps"`
	// BestRate is the highest rate whose step held the target (0 when none did); BestStep
	// its index in Steps (-1 when none).
	BestRate   float64 `json:"best_rate"`
	BestStep   int     `json:"best_step"`
	StopReason string  `json:"stop_reason"`
}

// MarshalJSON writes P99 as p99_target_seconds beside the tagged fields.
func (r RampResult) MarshalJSON() ([]byte, error) {
	type plain RampResult
	return json.Marshal(struct {
		plain
		P99 float64 `json:"p99_target_seconds"`
	}{plain(r), r.P99.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *RampResult) UnmarshalJSON(b []byte) error {
	type plain RampResult
	var v struct {
		plain
		P99 float64 `json:"p99_target_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = RampResult(v.plain)
	r.P99 = seconds(v.P99)
	return nil
}

func (o *RampOptions) check() error {
	switch {
	case o.Rate != 0 || o.Concurrency != 0 || o.Requests != 0:
		return optErr("ramp: rate, concurrency and requests are the ramp's to set; give start and step or factor")
	case o.Duration <= 0:
		return optErr("ramp: no step duration")
	case math.IsNaN(o.Start) || o.Start <= 0 || o.Start > MaxRate:
		return optErr("ramp: start %g: want a rate above 0 and up to %d per second", o.Start, MaxRate)
	case (o.Step != 0) == (o.Factor != 0):
		return optErr("ramp: give one of step (added to the rate) and factor (multiplies it)")
	case math.IsNaN(o.Step) || o.Step < 0 || o.Step > MaxRate:
		return optErr("ramp: step %g: want a positive rate up to %d", o.Step, MaxRate)
	case math.IsNaN(o.Factor) || o.Factor != 0 && (o.Factor <= 1 || o.Factor > 100):
		return optErr("ramp: factor %g: want more than 1 and at most 100", o.Factor)
	case o.MaxSteps < 0 || o.MaxSteps > MaxRampSteps:
		return optErr("ramp: max steps %d: want 1 to %d", o.MaxSteps, MaxRampSteps)
	case o.P99 <= 0 || o.P99 > time.Minute:
		return optErr("ramp: p99 target %v: want above 0 and at most 1m", o.P99)
	case math.IsNaN(o.MinSuccessRate) || o.MinSuccessRate < 0 || o.MinSuccessRate > 1:
		return optErr("ramp: min success rate %g: want 0 to 1", o.MinSuccessRate)
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 10
	}
	if o.MinSuccessRate == 0 {
		o.MinSuccessRate = 0.99
	}
	return nil
}

// Ramp runs the open model at rising rates (RampOptions) and reports each step and the highest
// rate that held the p99 target with the success rate. It stops at the first step that misses
// the target: past its knee a service only gets worse, and loading it further proves nothing
// more. It returns the steps so far and ctx's error when ctx ends.
func Ramp(ctx context.Context, opts RampOptions) (*RampResult, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	out := &RampResult{P99: opts.P99, MinSuccessRate: opts.MinSuccessRate, BestStep: -1, Steps: []RampStep{}}
	rate := opts.Start
	for i := 0; ; i++ {
		if i == opts.MaxSteps {
			out.StopReason = StopMaxSteps
			return out, nil
		}
		if rate > MaxRate {
			out.StopReason = StopMaxRate
			return out, nil
		}
		o := opts.Options
		o.Rate = rate
		res, err := Run(ctx, o)
		if err != nil && res == nil {
			return out, err
		}
		step := RampStep{Rate: rate, Result: res}
		switch {
		case res.Requests == 0:
			step.Reason = "no request was sent"
		case res.SuccessRate < opts.MinSuccessRate:
			step.Reason = fmt.Sprintf("success rate %.2f%% below %.2f%%", 100*res.SuccessRate, 100*opts.MinSuccessRate)
		case res.Latency.P99 > opts.P99:
			step.Reason = fmt.Sprintf("p99 %v above %v", res.Latency.P99, opts.P99)
		default:
			step.Pass = true
		}
		if err != nil { // cancelled mid-step: the step proves nothing
			return out, err
		}
		out.Steps = append(out.Steps, step)
		if opts.OnStep != nil {
			opts.OnStep(step)
		}
		if !step.Pass {
			out.StopReason = StopFailed
			return out, nil
		}
		out.BestRate, out.BestStep = rate, i
		if opts.Factor != 0 {
			rate *= opts.Factor
		} else {
			rate += opts.Step
		}
	}
}
