package sysstat

import "testing"

var sink []byte

func TestAllocatedBytes(t *testing.T) {
	a := AllocatedBytes()
	sink = make([]byte, 8<<20)
	b := AllocatedBytes()
	if b-a < 8<<20 || b-a > 9<<20 {
		t.Errorf("allocating 8 MiB moved the count by %d bytes", b-a)
	}
}
