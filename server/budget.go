package server

import (
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// checkBudget refuses a fit of m on X whose estimated memory or time is over what the server
// allows one training (Config.TrainMemoryBudget, TrainTimeBudget).
func (s *Server) checkBudget(m *detector.Model, X *dataset.Matrix) error {
	return m.CheckBudget(X.Rows, X.Cols, detector.Budget{Bytes: s.cfg.TrainMemoryBudget, Time: s.cfg.TrainTimeBudget})
}
