// Package loadtest is an HTTP load generator: it sends requests to a service in the open
// model (a constant arrival rate, as vegeta and wrk2) or the closed model (N clients, each
// sending its next request when the previous one is answered, as wrk and the seed's
// LoadTester), and measures latency in an HDR histogram (1 µs to 60 s, three significant
// digits), throughput, success rate, and the answers by status and by error.
//
// Run(ctx, Options) is the whole API of a run: Options.Rate > 0 chooses the open model,
// Options.Concurrency the closed one; Options.Duration and Options.Requests bound it. Requests
// come from a Targeter; Targets cycles through prepared bodies, which PredictBodies and
// TrainBody generate (seeded rows of normal values) and ReadBodies reads from a file. Ramp steps
// the open model's rate up to find the highest rate that holds a p99 target; TrainStress is the
// seed's stress_test_training: a bounded number of training jobs, a bounded number at once.
// Document is the versioned JSON document a run is stored as (kind "loadtest").
//
// # Coordinated omission
//
// A closed-model client that waits for a slow answer does not send the requests it would
// have sent meanwhile, so a stall of the service is measured once instead of once per user it
// held up: the tail latencies come out too good. The open model schedules request i at
// i/Rate seconds from the start whatever the answers do, and measures each latency from that
// intended send time. At most Options.MaxInFlight requests are outstanding (one goroutine
// per slot, started at the start: the generator's memory and goroutines are bounded); a
// request due while every slot is busy is sent late when one frees, and its wait counts in
// its latency (Result.Late counts them); one more than Options.MaxLag behind schedule is not
// sent but dropped (Result.Dropped, a failure). One pacer goroutine wakes at each due time
// (Options.Pacing: a kernel timer by default, since Go's timers wake an idle process up to a
// millisecond late on Linux) and hands the request to a free slot. A request handed over on
// time but sent a little late because the generator itself woke late is measured from its
// actual send: the service did not cause that delay. Result.SendLag shows how late requests
// left, so the generator's own precision is on the record.
//
// # Cost
//
// The generator shares the machine with what it measures, so its own CPU per request matters.
// For http:// targets (and no Options.Client) it uses its own HTTP/1.1 client: each closed-
// model client keeps one keep-alive connection, the open model's slots share a pool of them,
// a request goes out in one write and its answer is parsed on the sending goroutine, with no
// allocation per request; https:// and a given Client go through net/http. Results go into a
// few lock-sharded histograms. BenchmarkHTTP measures the CPU and allocations per request with
// a trivial in-process handler, BenchmarkGenerator the bookkeeping alone through net/http with
// in-memory answers; scripts/loadtest-vs-wrk.sh compares the CPU per request with wrk's.
package loadtest
