package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
)

// Errors a cell run reports, for callers to branch on.
var (
	// ErrTimeout: the cell passed its timeout and was stopped.
	ErrTimeout = errors.New("cell passed its timeout")
	// ErrOverBudget: the child process passed its memory budget and was stopped.
	ErrOverBudget = errors.New("cell passed its memory budget")
)

// overBudgetExit is the exit status of a child that stopped itself on its heap limit.
const overBudgetExit = 3

// ServeChild is the body of a child process that runs one cell: it reads a CellSpec as JSON
// from in, runs it (RunCell) and writes the CellResult as JSON to out; a failing cell is a
// result with Error set. A program offers it behind a hidden command and names that command
// in Options.Child. When the spec sets HeapLimit, ServeChild also sets it as the runtime's
// soft memory limit and, should the heap pass it anyway, writes a result saying so and exits
// the process at once with status 3: there is no waiting for a detector to notice.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer) error {
	var spec CellSpec
	d := json.NewDecoder(in)
	d.UseNumber()
	if err := d.Decode(&spec); err != nil {
		return fmt.Errorf("bench: child: reading the cell spec: %w", err)
	}
	var over func(int64)
	if spec.HeapLimit > 0 {
		debug.SetMemoryLimit(spec.HeapLimit)
		var once sync.Once
		over = func(heap int64) {
			once.Do(func() {
				r := CellResult{Error: fmt.Sprintf("heap %d bytes passed the limit of %d", heap, spec.HeapLimit)}
				_ = json.NewEncoder(out).Encode(r)
				os.Exit(overBudgetExit)
			})
		}
	}
	res, err := runCell(ctx, spec, over)
	if err != nil {
		res = &CellResult{Error: err.Error()}
	}
	return json.NewEncoder(out).Encode(res)
}

// childRun is how a cell ran in a child process, beyond its result.
type childRun struct {
	res *CellResult
	// watchedRSS is the largest resident set size the parent saw while watching the child
	// (0 when it did not watch).
	watchedRSS int64
}

// runChild runs spec in a child process started from argv, which must serve ServeChild. It
// kills the child when ctx ends (ErrTimeout when ctx's deadline passed) and, when killAt is
// positive, when the child's resident set size, read every watchEvery (sysstat.RSSReader,
// which does not allocate), passes it (ErrOverBudget).
func runChild(ctx context.Context, argv []string, spec CellSpec, killAt int64) (*childRun, error) {
	if len(argv) == 0 {
		return nil, errors.New("bench: no child command")
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("bench: cell %s: %w", spec.ID(), err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: cell %s: starting the child process: %w", spec.ID(), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	run := &childRun{}
	var tick <-chan time.Time
	var rssOf *sysstat.RSSReader // nil (reads as 0) when the child's memory cannot be opened
	if killAt > 0 {
		t := time.NewTicker(watchEvery)
		defer t.Stop()
		tick = t.C
		if r, err := sysstat.OpenRSS(cmd.Process.Pid); err == nil {
			rssOf = r
			defer r.Close()
		}
	}
	var stopped error
	var waitErr error
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case <-ctx.Done():
			stopped = ErrTimeout
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				stopped = ctx.Err()
			}
			_ = cmd.Process.Kill()
			waitErr = <-done
			break wait
		case <-tick:
			var rss int64
			if rssOf != nil {
				rss, _ = rssOf.Read()
			}
			run.watchedRSS = max(run.watchedRSS, rss)
			if rss > killAt {
				stopped = fmt.Errorf("%w: resident set %d bytes passed %d", ErrOverBudget, rss, killAt)
				_ = cmd.Process.Kill()
				waitErr = <-done
				break wait
			}
		}
	}
	if stopped != nil {
		return run, fmt.Errorf("bench: cell %s: %w", spec.ID(), stopped)
	}
	var res CellResult
	decErr := json.Unmarshal(stdout.Bytes(), &res)
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == overBudgetExit && decErr == nil {
		return run, fmt.Errorf("bench: cell %s: %w: %s", spec.ID(), ErrOverBudget, res.Error)
	}
	if waitErr != nil || decErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "no output"
		}
		if waitErr == nil {
			waitErr = decErr
		}
		return run, fmt.Errorf("bench: cell %s: child process: %v: %s", spec.ID(), waitErr, msg)
	}
	if res.Error != "" {
		return run, fmt.Errorf("%s", res.Error)
	}
	run.res = &res
	return run, nil
}

// watchEvery is how often the parent reads a watched child's resident set size.
const watchEvery = 5 * time.Millisecond

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
