package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gonomaly/gonomaly/loadtest"
)

// Run the closed model (4 clients) for 200 requests against a service, then the open model
// at 200 requests per second for 250 ms.
func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"scores":[0.5],"is_anomaly":[false],"threshold":0.6}`))
	}))
	defer srv.Close()

	bodies, err := loadtest.PredictBodies("my-detector", 1, 8, 16, 1)
	if err != nil {
		panic(err)
	}
	targets, err := loadtest.NewTargets("POST", loadtest.Endpoint(srv.URL+"/api/v1", loadtest.PredictPath), bodies)
	if err != nil {
		panic(err)
	}

	closed, err := loadtest.Run(context.Background(), loadtest.Options{Targeter: targets, Concurrency: 4, Requests: 200})
	if err != nil {
		panic(err)
	}
	fmt.Println(closed.Model, closed.Requests, closed.Successes, closed.StatusCodes["200"], closed.Latency.P99 > 0)

	open, err := loadtest.Run(context.Background(), loadtest.Options{Targeter: targets, Rate: 200, Duration: 250 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	fmt.Println(open.Model, open.Requests, open.SuccessRate)
	// Output:
	// closed 200 200 200 true
	// open 50 1
}
