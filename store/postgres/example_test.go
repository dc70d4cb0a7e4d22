package postgres_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gonomaly/gonomaly/store"
	_ "github.com/gonomaly/gonomaly/store/postgres" // registers postgres:// URLs
)

// Opening PostgreSQL through the registry, with a schema of its own and a smaller pool than
// the default. (Not run: it needs a server.)
func Example() {
	ctx := context.Background()
	s, err := store.Open(ctx, "postgres://gonomaly@db.internal:5432/gonomaly?sslmode=disable&search_path=gonomaly",
		store.Options{PoolSize: 10, MaxOverflow: 10, AcquireTimeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.(store.PoolStater).PoolStats().MaxConns)
}
