package acs

import "sync/atomic"

// Stats is a snapshot of the server's counters since New.
type Stats struct {
	// Open is the number of sessions open now.
	Open int
	// Started counts sessions that reached Inform; Ended counts ended sessions by reason.
	Started uint64
	Ended   map[EndReason]uint64
	// Faults counts SOAP faults the ACS sent (80xx); CPEFaults counts faults CPEs returned for
	// tasks; Mismatches counts answers that did not match the outstanding task (checklist 46).
	Faults     uint64
	CPEFaults  uint64
	Mismatches uint64
	// Overload counts 503 refusals of new sessions (checklist 9); AuthFailures counts 401s.
	Overload     uint64
	AuthFailures uint64
	// InformsRefused counts Informs answered with a fault because the handler could not take them
	// (e.g. the store failed): the CPE keeps its events and retries.
	InformsRefused uint64
}

var endReasons = [...]EndReason{EndDone, EndSuperseded, EndTimeout, EndLimit, EndError, EndShutdown, EndRefused}

type counters struct {
	started, faults, cpeFaults, mismatches, overload, authFailures, informsRefused atomic.Uint64
	ended                                                                          [len(endReasons)]atomic.Uint64
}

func (c *counters) countEnd(r EndReason) {
	for i, er := range endReasons {
		if er == r {
			c.ended[i].Add(1)
			return
		}
	}
}

func (c *counters) snapshot(open int) Stats {
	st := Stats{
		Open:         open,
		Started:      c.started.Load(),
		Ended:        make(map[EndReason]uint64, len(endReasons)),
		Faults:       c.faults.Load(),
		CPEFaults:    c.cpeFaults.Load(),
		Mismatches:   c.mismatches.Load(),
		Overload:     c.overload.Load(),
		AuthFailures: c.authFailures.Load(),

		InformsRefused: c.informsRefused.Load(),
	}
	for i, er := range endReasons {
		st.Ended[er] = c.ended[i].Load()
	}
	return st
}
