package bridge

import (
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// SessionFault publishes session_fault for a CWMP session that ended on a protocol error (an
// undecodable message, a CPE gone silent while a request was outstanding): the device, the
// CPE's address and the reason. Not rate-limited: a device opens sessions at its own pace, and
// the ACS only reports sessions that reached an Inform.
func (b *Bridge) SessionFault(device, remote, reason string) {
	ev := api.BridgeEvent{Event: api.BridgeSessionFault, Device: device, Remote: remote, Reason: reason, Time: b.opts.Now().UTC()}
	b.sendBridgeEvent(nil, ev)
}
