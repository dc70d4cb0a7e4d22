package dataset

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestRecordReaderMatchesEncodingCSV: on well-formed input our splitter gives the same records
// as the standard library's reader (with TrimLeadingSpace).
func TestRecordReaderMatchesEncodingCSV(t *testing.T) {
	inputs := []string{
		"a,b,c\n1,2,3\n",
		"a,b\r\n1,2\r\n\r\n3,4",
		"a,\"b,c\",d\n\"1\",\"x\"\"y\",3\n",
		"a,b\n\"multi\nline\",2\n",
		"  a,\tb\n 1, 2\n",
		"a,b\n,\n",
		"x\n\n\n1\n",
	}
	for _, in := range inputs {
		std := csv.NewReader(strings.NewReader(in))
		std.FieldsPerRecord = -1
		std.TrimLeadingSpace = true
		ours := newRecordReader(strings.NewReader(in), ',')
		for rec := 0; ; rec++ {
			want, werr := std.Read()
			got, gerr := ours.Read()
			if werr == io.EOF || gerr == io.EOF {
				if werr != gerr {
					t.Fatalf("%q record %d: std err %v, ours %v", in, rec, werr, gerr)
				}
				break
			}
			if werr != nil || gerr != nil {
				t.Fatalf("%q record %d: std err %v, ours %v", in, rec, werr, gerr)
			}
			if len(got) != len(want) {
				t.Fatalf("%q record %d: %d fields, want %d", in, rec, len(got), len(want))
			}
			for i := range want {
				if string(got[i]) != want[i] {
					t.Fatalf("%q record %d field %d: %q, want %q", in, rec, i, got[i], want[i])
				}
			}
		}
	}
}

func TestRecordReaderBadQuotes(t *testing.T) {
	for _, in := range []string{"a\n\"open\n", "a\nx\"y\n", "a,b\n\"q\"x,2\n"} {
		r := newRecordReader(strings.NewReader(in), ',')
		r.Read() // header
		if _, err := r.Read(); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestReadCSVLongLines(t *testing.T) {
	const cols = 20000 // a header and rows longer than the 64 KiB read buffer
	names := make([]string, cols)
	for j := range names {
		names[j] = "c" + strconv.Itoa(j)
	}
	row := strings.TrimSuffix(strings.Repeat("1.5,", cols), ",")
	in := strings.Join(names, ",") + "\n" + row + "\n" + row + "\n"
	tab, err := ReadCSV(strings.NewReader(in), CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.X.Rows != 2 || tab.X.Cols != cols || tab.X.At(1, cols-1) != 1.5 {
		t.Fatalf("shape %dx%d", tab.X.Rows, tab.X.Cols)
	}
}
