package bench_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
)

// childArg makes the test binary serve one cell (bench.ServeChild) instead of running tests,
// so the tests can run cells in child processes as the gonomaly binary does.
const childArg = "__bench_child"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		if err := bench.ServeChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childCmd is the command line of a child process serving one cell.
func childCmd() []string { return []string{os.Args[0], childArg} }
