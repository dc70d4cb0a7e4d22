package serving

import (
	"context"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	_ "github.com/gonomaly/gonomaly/detector/hbos"
	"github.com/gonomaly/gonomaly/optimize"
)

// A request holding the Live of a version that a retrain, a delete or the service closing has
// retired still gets its single row scored, by that version's model (as if it had come a
// moment earlier), not ErrClosed: the retired batcher is closed, the model is whole.
func TestRetiredLiveStillScores(t *testing.T) {
	ctx := context.Background()
	fitted := func(seed float64) *detector.Model {
		m, err := detector.NewModel("hbos", nil, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		X := dataset.NewMatrix(200, 3)
		for i := range X.Data {
			X.Data[i] = float64(i%97) * seed
		}
		if _, err := m.Fit(ctx, X); err != nil {
			t.Fatal(err)
		}
		return m
	}
	row := dataset.NewMatrix(1, 3)
	copy(row.Data, []float64{50, 3, 700})
	for _, retire := range []struct {
		name string
		do   func(ms *models)
	}{
		{"retrained", func(ms *models) { ms.put("d", 2, fitted(2)) }},
		{"deleted", func(ms *models) { ms.drop("d") }},
		{"service closed", func(ms *models) { ms.close() }},
	} {
		t.Run(retire.name, func(t *testing.T) {
			ms := newModels(optimize.BatchOptions{}, nil)
			defer ms.close()
			held := ms.put("d", 1, fitted(1))
			want, err := held.Score(ctx, row)
			if err != nil {
				t.Fatal(err)
			}
			retire.do(ms)
			held.batch.Load().Close() // the retiring Close may run in the background: wait for it
			got, err := held.Score(ctx, row)
			if err != nil || got[0] != want[0] {
				t.Fatalf("single row on the retired version: %v, %v; want %v", got, err, want[0])
			}
		})
	}
}
