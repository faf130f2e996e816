// Package taskq holds the durable request queue of each device: the platform's requests (and
// the gateway's own) between the moment the bridge accepts them from MQTT and the moment an ACS
// session has run them. It sits below package bridge, between the bridge's inbound MQTT
// requests and the ACS sessions; the bridge wires it to the store, the sessions and the results
// it publishes, and taskq imports none of them.
//
// taskq owns a task's life: the one transition table (transition) decides every move from
// accepted to sent to terminal, the per-device order (the gateway's own tasks first, then
// acceptance order), the bound of tasks.max_queue, duplicate ids, and the finished ids
// remembered to drop QoS 1 redeliveries. Its lock is a leaf: taken after the bridge's, never
// held while calling out.
package taskq

import (
	"errors"
	"fmt"
)

// State is where a task is in its life. The terminal states are the terminal statuses of
// docs/mqtt-api.md (String gives the status), plus Dropped for the gateway's own tasks.
type State uint8

const (
	// Received: built from a request, not accepted yet.
	Received State = iota
	// Queued: accepted and durable, waiting for a session ("accepted" on MQTT).
	Queued
	// Sent: handed to a session, the CPE's answer awaited ("inflight" in the store).
	Sent
	// Lapsed: sent, and its timeout ran out while the session still holds it: `timeout` is
	// published already, and the CPE's late answer or the session's end only removes it
	// (exactly one terminal result). Its only way out is Timeout, published by nobody.
	Lapsed

	// Done: the CPE answered.
	Done
	// Fault: the CPE (or the gateway for it) answered with a CWMP fault.
	Fault
	// Timeout: sent, and no answer within its timeout, or its outcome is unknown.
	Timeout
	// Expired: never sent within its expires.
	Expired
	// Offline: it could not wait, and the device could not be woken.
	Offline
	// Rejected: refused before it was queued (nothing was queued).
	Rejected
	// Cancelled: accepted, never sent (the device was removed, or the request names what its
	// data model lacks).
	Cancelled
	// Dropped: a gateway task given up without a result (its interview is over).
	Dropped

	numStates
)

var names = [numStates]string{
	Received: "received", Queued: "queued", Sent: "sent", Lapsed: "lapsed",
	Done: "done", Fault: "fault", Timeout: "timeout", Expired: "expired", Offline: "offline",
	Rejected: "rejected", Cancelled: "cancelled", Dropped: "dropped",
}

// String is the state's name; for a terminal state, its status on MQTT.
func (s State) String() string {
	if s < numStates {
		return names[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// Terminal reports a state no task leaves.
func (s State) Terminal() bool { return s >= Done && s < numStates }

// Pending reports a task still in its device's queue (queued, sent or lapsed).
func (s State) Pending() bool { return s == Queued || s == Sent || s == Lapsed }

// transitions is the one table of a task's life: from → the states it may move to. Nothing
// else changes a task's state.
var transitions = [numStates][]State{
	Received: {Queued, Rejected},
	Queued:   {Sent, Expired, Offline, Cancelled, Timeout, Dropped},
	// Sent → Queued: the session ended before the answer, and the task may be sent again.
	Sent:   {Queued, Lapsed, Done, Fault, Timeout},
	Lapsed: {Timeout},
}

// ErrTransition is wrapped by every refused transition.
var ErrTransition = errors.New("taskq: illegal transition")

// Transition checks a move of a task's life against the table.
func Transition(from, to State) error {
	if from < numStates {
		for _, s := range transitions[from] {
			if s == to {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrTransition, from, to)
}
