package sqlite

import "context"

// HoldWriter takes the writer slot until the returned function is called (for tests of the
// acquire timeout).
func (s *DB) HoldWriter() (release func()) {
	if err := s.wgate.acquire(context.Background(), s.opts.AcquireTimeout); err != nil {
		panic(err)
	}
	return s.wgate.release
}
