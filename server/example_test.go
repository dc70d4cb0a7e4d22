package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gonomaly/gonomaly/server"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// The service over an SQLite store, mounted on a test HTTP server: a detector is created,
// trained on rows sent in the request, and asked about two new rows.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "server-example")
	defer os.RemoveAll(dir)
	st, _ := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "s.db"), store.Options{})
	defer st.Close()
	srv, _ := server.New(ctx, server.Config{Store: st})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	post := func(path, body string) string {
		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	created := post("/api/v1/detectors", `{"name":"demo","algorithm":"hbos"}`)
	id := strings.Split(strings.SplitN(created, `"id":"`, 2)[1], `"`)[0]
	fmt.Println(created[:3])
	train := post("/api/v1/detection/train", `{"detector_id":"`+id+`","data":[[0,0],[0,1],[1,0],[1,1],[0.5,0.5],[0.4,0.6],[0.6,0.4],[9,9]]}`)
	fmt.Println(train[:3])
	fmt.Println(strings.Contains(post("/api/v1/detection/predict", `{"detector_id":"`+id+`","data":[[0.5,0.5],[9,9]]}`), `"is_anomaly":[false,true]`))
	fmt.Println(post("/api/v1/detection/predict", `{"detector_id":"`+id+`","data":[[0.5,null]]}`))
	// Output:
	// 201
	// 200
	// true
	// 400 {"error":"data: row 0, column 1: null is not a number","code":"bad_request"}
}
