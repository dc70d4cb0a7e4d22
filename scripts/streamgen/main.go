// Command streamgen writes a large labelled CSV file quickly, for the streaming benchmark
// (scripts/stream-bench.sh): Gaussian inlier clusters and uniform outliers, as
// dataset.Synthetic makes them, but written row by row so its memory does not grow with the
// file. The same flags give the same file.
//
//	go run ./scripts/streamgen -size 5GB -cols 10 -seed 1 -o big.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

func main() {
	size := flag.String("size", "1GB", "approximate size of the file: a number of bytes with kB, MB or GB")
	cols := flag.Int("cols", 10, "feature columns (a label column follows them)")
	contamination := flag.Float64("contamination", 0.01, "share of outlier rows, in [0, 1)")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("o", "", "output file")
	flag.Parse()
	target, err := parseSize(*size)
	if err != nil || *out == "" || *cols < 1 || *cols > 1000 || *contamination < 0 || *contamination >= 1 {
		fmt.Fprintln(os.Stderr, "usage: streamgen -size 5GB [-cols 10] [-contamination 0.01] [-seed 1] -o FILE")
		os.Exit(2)
	}
	if err := write(*out, target, *cols, *contamination, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "streamgen:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		name string
		mult int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if strings.HasSuffix(s, u.name) {
			s, mult = strings.TrimSuffix(s, u.name), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e6 {
		return 0, fmt.Errorf("size %q", s)
	}
	return int64(f * float64(mult)), nil
}

func write(path string, target int64, cols int, contamination float64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(seed, 2))
	const clusters = 3
	centres := make([][]float64, clusters)
	for k := range centres {
		centres[k] = make([]float64, cols)
		for j := range centres[k] {
			centres[k][j] = r.Float64()*20 - 10
		}
	}
	var b []byte
	for j := range cols {
		b = append(b, 'f')
		b = strconv.AppendInt(b, int64(j), 10)
		b = append(b, ',')
	}
	b = append(b, "label\n"...)
	written := int64(0)
	for written < target {
		outlier := r.Float64() < contamination
		c := centres[r.IntN(clusters)]
		for j := range cols {
			v := c[j] + r.NormFloat64()
			if outlier {
				v = r.Float64()*40 - 20
			}
			b = strconv.AppendFloat(b, v, 'f', 6, 64)
			b = append(b, ',')
		}
		if outlier {
			b = append(b, "1\n"...)
		} else {
			b = append(b, "0\n"...)
		}
		if len(b) >= 1<<16 {
			n, err := w.Write(b)
			written += int64(n)
			if err != nil {
				f.Close()
				return err
			}
			b = b[:0]
		}
	}
	if _, err := w.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
