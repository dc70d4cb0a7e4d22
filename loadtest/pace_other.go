//go:build !linux

package loadtest

import "context"

func newPrecisePacer(context.Context) pacer { return nil }

// hasTimerfd: PacePrecise can wait on a timerfd here.
const hasTimerfd = false
