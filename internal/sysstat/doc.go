// Package sysstat measures the resources of this process, of a child process and of the
// machine, for the packages that report them (bench, monitor, optimize): CPU time, resident
// set (now and at its peak), the Go heap, garbage collection, goroutines, open files, the
// memory this process may use and the machine's fingerprint.
//
// Where a library does the job, it does it: gopsutil reads another process's CPU time,
// resident set and open files on every system it supports, the machine's memory and CPU
// model; runtime/metrics gives the Go runtime's figures. What is hand-written is what
// gopsutil does not offer (the cgroup memory limit, the peak resident set VmHWM and its
// reset) or does not offer cheaply enough for a loop that looks every few milliseconds:
// RSSReader and Sampler keep their /proc files open and parse them into fixed buffers, so a
// look allocates nothing (gopsutil opens, reads and splits the file each time, and builds a
// process value first).
//
// Figures that a system does not provide are 0 (documented on each function); only the
// functions about another process return errors, since the process may be gone.
package sysstat
