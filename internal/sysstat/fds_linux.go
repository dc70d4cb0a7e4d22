package sysstat

import (
	"fmt"
	"syscall"
)

// fdCounter counts this process's open file descriptors by listing /proc/self/fd into a
// buffer of its own, without allocating (os.File.Readdirnames, which gopsutil uses, makes a
// string per descriptor). The directory it keeps open is counted out.
type fdCounter struct {
	fd  int
	buf [8192]byte
}

func openFDCounter() (*fdCounter, error) {
	fd, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sysstat: open files: %w", err)
	}
	return &fdCounter{fd: fd}, nil
}

// count returns the open descriptors, its own not counted.
func (c *fdCounter) count() (int, error) {
	if _, err := syscall.Seek(c.fd, 0, 0); err != nil {
		return 0, fmt.Errorf("sysstat: open files: %w", err)
	}
	n := 0
	for {
		m, err := syscall.ReadDirent(c.fd, c.buf[:])
		if err != nil {
			return 0, fmt.Errorf("sysstat: open files: %w", err)
		}
		if m <= 0 {
			return n - 1, nil
		}
		n += countDirents(c.buf[:m])
	}
}

func (c *fdCounter) close() error { return syscall.Close(c.fd) }

// OpenFiles is the number of file descriptors this process holds open (/proc/self/fd); 0
// when it cannot be read.
func OpenFiles() int {
	c, err := openFDCounter()
	if err != nil {
		return 0
	}
	defer c.close()
	n, err := c.count()
	if err != nil {
		return 0
	}
	return n
}
