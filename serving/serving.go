package serving

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/store"
	"golang.org/x/sync/singleflight"
)

// Store is what serving needs of the store: a detector's current version, its model bytes,
// and saving a new model.
type Store interface {
	GetDetector(ctx context.Context, id string) (*store.Detector, error)
	GetDetectors(ctx context.Context, ids []string) ([]*store.Detector, error)
	SaveModel(ctx context.Context, id string, m store.FittedModel) (*store.Detector, error)
}

// Options tune a Service. The zero value gives the defaults.
type Options struct {
	// Batch tunes the micro-batching of single-row predictions (see optimize.BatchOptions).
	Batch optimize.BatchOptions
	// TTL is how long detector metadata and models live in the cache (default 1 h). Training
	// and Forget invalidate them at once, so this only bounds memory.
	TTL time.Duration
	// OnScore, when set, is told the algorithm, rows and time of every scoring call of the
	// micro-batcher (for metrics).
	OnScore func(algorithm string, rows int, d time.Duration)
}

// Service serves the fitted models of the store's detectors: Live finds the model of a
// detector's current version (from memory, the cache, or the store, decoded once), Fit trains
// and saves a new version and makes every instance that shares the cache serve it, Forget
// drops a deleted detector. It is safe for concurrent use. Close stops its batchers.
type Service struct {
	store   Store
	cache   *cache.Cache
	ttl     time.Duration
	models  *models
	decodes singleflight.Group
	decoded atomic.Int64
}

// New builds a Service over st and c.
func New(st Store, c *cache.Cache, opts Options) *Service {
	if opts.TTL <= 0 {
		opts.TTL = time.Hour
	}
	return &Service{store: st, cache: c, ttl: opts.TTL, models: newModels(opts.Batch, opts.OnScore)}
}

// Errors of the protocol (they also wrap the store's and the detector's sentinels:
// ErrNotFitted wraps detector.ErrNotFitted, ErrChanged store.ErrConflict).
var (
	ErrNotFitted = fmt.Errorf("not fitted: train it first: %w", detector.ErrNotFitted)
	ErrChanged   = fmt.Errorf("it changed while it was being trained: train it again: %w", store.ErrConflict)
	errStale     = errors.New("detector changed while its model was read")
)

// Live returns the live model of detector id: its current version from the cache (the store
// on a miss), then the model of that version from memory, the cache or the store. Concurrent
// calls for a version not yet in memory decode it once. An unknown detector is an error
// wrapping store.ErrNotFound; one never trained ErrNotFitted.
func (s *Service) Live(ctx context.Context, id string) (*Live, error) {
	if !store.ValidID(id) {
		// Names no detector: kept away from the cache, whose keys and tags it would become.
		return nil, fmt.Errorf("detector %s: %w", showID(id), store.ErrNotFound)
	}
	for attempt := 0; ; attempt++ {
		meta, err := s.cache.GetOrLoad(ctx, metaKey(id), s.ttl, func(ctx context.Context) ([]byte, error) {
			ds, err := s.store.GetDetectors(ctx, []string{id})
			if err != nil {
				return nil, err
			}
			if len(ds) == 0 {
				return nil, fmt.Errorf("detector %s: %w", id, store.ErrNotFound)
			}
			return encodeMeta(ds[0].Version, ds[0].IsFitted), nil
		}, tag(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("detector %s: %w", id, store.ErrNotFound) // without the cache's words
		}
		if err != nil {
			return nil, err
		}
		version, fitted := decodeMeta(meta)
		if !fitted {
			return nil, fmt.Errorf("detector %s is %w", id, ErrNotFitted)
		}
		if l := s.models.get(id, version); l != nil {
			return l, nil
		}
		blob, err := s.cache.GetOrLoad(ctx, modelKey(id, version), s.ttl, func(ctx context.Context) ([]byte, error) {
			d, err := s.store.GetDetector(ctx, id)
			if err != nil {
				return nil, err
			}
			if d.Version != version || !d.IsFitted {
				return nil, errStale
			}
			return d.Model, nil
		}, tag(id))
		if errors.Is(err, errStale) && attempt < 3 {
			// The detector changed between the two reads: its new metadata is on its way.
			s.cache.InvalidateTag(ctx, tag(id))
			continue
		}
		if err != nil {
			return nil, err
		}
		v, err, _ := s.decodes.Do(modelKey(id, version), func() (any, error) {
			if l := s.models.get(id, version); l != nil {
				return l, nil
			}
			s.decoded.Add(1)
			m, err := detector.UnmarshalModel(blob)
			if err != nil {
				return nil, fmt.Errorf("detector %s version %d: %w", id, version, err)
			}
			return s.models.put(id, version, m), nil
		})
		if err != nil {
			return nil, err
		}
		return v.(*Live), nil
	}
}

// Fitted is what Fit returns: the version saved and how long the fit took.
type Fitted struct {
	Version int64
	Took    time.Duration
	// Worker names the cluster worker that fitted it (cluster.RemoteFitter); empty when the
	// fit ran in this process.
	Worker string
}

// Fit trains m on X and saves it as det's model, unless det changed since it was read
// (ErrChanged); then it serves the new version here at once, drops the old one from the
// cache, and writes the new one through, so that every instance sharing the cache serves it.
func (s *Service) Fit(ctx context.Context, det *store.Detector, m *detector.Model, X *dataset.Matrix) (*Fitted, error) {
	t0 := time.Now()
	if _, err := m.Fit(ctx, X); err != nil {
		return nil, err
	}
	took := time.Since(t0)
	fm, err := store.EncodeModel(m, took)
	if err != nil {
		return nil, err
	}
	fm.IfVersion = det.Version
	saved, err := s.store.SaveModel(ctx, det.ID, fm)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("detector %s: %w", det.ID, ErrChanged)
		}
		return nil, err
	}
	cctx := context.WithoutCancel(ctx)
	s.dropCached(cctx, det.ID, det.Version)
	s.cache.Set(cctx, modelKey(det.ID, saved.Version), fm.Model, s.ttl, tag(det.ID))
	s.cache.Set(cctx, metaKey(det.ID), encodeMeta(saved.Version, true), s.ttl, tag(det.ID))
	s.models.put(det.ID, saved.Version, m)
	return &Fitted{Version: saved.Version, Took: took}, nil
}

// Forget stops serving detector id, deleted from the store at version, here and on every
// instance that shares the cache.
func (s *Service) Forget(ctx context.Context, id string, version int64) {
	s.dropCached(ctx, id, version)
	s.models.drop(id)
}

// dropCached deletes detector id's cached copies of version (under the tag's current
// generation; after the invalidation they would stay in Redis, unreachable, until their TTL)
// and invalidates the tag on every instance.
func (s *Service) dropCached(ctx context.Context, id string, version int64) {
	s.cache.Delete(ctx, modelKey(id, version), tag(id))
	s.cache.Delete(ctx, metaKey(id), tag(id))
	s.cache.InvalidateTag(ctx, tag(id))
}

// Decoded is how many models the Service has decoded (for tests and metrics).
func (s *Service) Decoded() int64 { return s.decoded.Load() }

// Close stops every batcher, after they finish what they hold.
func (s *Service) Close() { s.models.close() }

// showID is id as a message shows it: quoted and cut to 40 bytes when it is not well-formed
// (a hostile id of megabytes or control bytes).
func showID(id string) string {
	if len(id) > 40 {
		id = id[:40] + "..."
	}
	return strconv.Quote(id)
}

// tag is the cache tag of every entry of one detector.
func tag(id string) string { return "detector:" + id }

// metaKey holds a detector's current version and whether it is fitted (encodeMeta); modelKey
// the model bytes of one version.
func metaKey(id string) string { return "detector-meta:" + id }

func modelKey(id string, version int64) string {
	return "model:" + id + ":" + strconv.FormatInt(version, 10)
}

func encodeMeta(version int64, fitted bool) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(version))
	if fitted {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeMeta(b []byte) (version int64, fitted bool) {
	if len(b) != 9 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b)), b[8] == 1
}
