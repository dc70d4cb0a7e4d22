package optimize

import "time"

// gather appends to batch what queue holds, up to max items, waiting up to wait for more once
// the queue runs dry (wait <= 0: not at all). The wait is counted once per batch, from the
// moment the queue first ran dry, so a batch is never held longer than wait by a slow trickle.
// timer is the caller's, reused from batch to batch (nil until the first wait). gather
// reports false once queue is closed and drained. It is the one batching loop of the package:
// the Batcher's workers and the WriteBehind's writer both gather with it.
func gather[T any](queue <-chan T, batch []T, max int, wait time.Duration, timer **time.Timer) ([]T, bool) {
	waiting := false
	for len(batch) < max {
		select {
		case v, ok := <-queue:
			if !ok {
				stopTimer(*timer, waiting)
				return batch, false
			}
			batch = append(batch, v)
			continue
		default:
		}
		if wait <= 0 {
			return batch, true
		}
		if !waiting {
			if *timer == nil {
				*timer = time.NewTimer(wait)
			} else {
				(*timer).Reset(wait)
			}
			waiting = true
		}
		select {
		case v, ok := <-queue:
			if !ok {
				stopTimer(*timer, waiting)
				return batch, false
			}
			batch = append(batch, v)
		case <-(*timer).C:
			return batch, true
		}
	}
	stopTimer(*timer, waiting)
	return batch, true
}

func stopTimer(t *time.Timer, running bool) {
	if running {
		t.Stop()
	}
}
