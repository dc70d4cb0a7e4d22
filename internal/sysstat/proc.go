package sysstat

import (
	"bytes"
	"encoding/binary"
)

// The parsers of /proc files below are ours because the figures they give are not in
// gopsutil (VmHWM) or are needed without allocating (statm, on the watch loops).

// parseStatmRSS returns the resident pages of a /proc/PID/statm line (its second field);
// ok is false when the line has no such number.
func parseStatmRSS(b []byte) (pages int64, ok bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return 0, false
	}
	return parseUint(b[i+1:])
}

// statusKB returns the value of a "Key:   123 kB" line of a /proc/PID/status file in bytes;
// 0 when the key is absent or its value is not a number.
func statusKB(b []byte, key string) int64 {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || string(k) != key {
			continue
		}
		n, ok := parseUint(bytes.TrimLeft(v, " \t"))
		if !ok {
			return 0
		}
		return n << 10
	}
	return 0
}

// parseUint parses the decimal digits at the start of b, which end at a space, a newline or
// the end of b; ok is false when there are none or they overflow.
func parseUint(b []byte) (n int64, ok bool) {
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if n > (1<<63-1-9)/10 {
			return 0, false
		}
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 || (i < len(b) && b[i] != ' ' && b[i] != '\n') {
		return 0, false
	}
	return n, true
}

// countDirents counts the entries of a buffer of linux_dirent64 records (getdents64(2):
// d_ino u64, d_off s64, d_reclen u16, d_type u8, then the NUL-terminated name), "." and ".."
// left out.
func countDirents(b []byte) int {
	const nameOff = 19
	n := 0
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			break
		}
		name := b[nameOff:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if string(name) != "." && string(name) != ".." {
			n++
		}
		b = b[reclen:]
	}
	return n
}
