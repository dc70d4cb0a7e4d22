// Command floorserver is the least an HTTP service can do for the load generator: it answers
// every POST to /api/v1/detection/predict with a fixed JSON body the size of gonomaly's
// answer, without parsing or scoring anything. scripts/p99-floor.sh loads it to measure the
// latency floor of the machine and the generator, apart from the service.
//
// Usage: floorserver ADDR
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floorserver ADDR (e.g. 127.0.0.1:18600)")
		os.Exit(2)
	}
	answer := []byte(`{"scores":[0.4123456789],"is_anomaly":[false],"threshold":0.5987654321}`)
	http.HandleFunc("POST /api/v1/detection/predict", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	if err := http.ListenAndServe(os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, "floorserver:", err)
		os.Exit(1)
	}
}
