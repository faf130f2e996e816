package bridge

import (
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

// Transfers answered with Status 1 complete in a later session with a TransferComplete
// (TR-069 §A.3.3.1). A CPE that never sends it must not leave the platform waiting forever:
// after Options.TransferTimeout the bridge publishes transfer_timeout (checklist 41).

// trackTransfer records a transfer the CPE accepted with Status 1, and forgets the one a
// successful CancelTransfer cancelled: no TransferComplete will come for it (TR-069 CancelTransfer).
func (b *Bridge) trackTransfer(t *taskRecord, resp soap.Message) {
	var key string
	switch m := resp.(type) {
	case *soap.CancelTransferResponse:
		if msg, err := b.buildMessage(t); err == nil {
			if c, ok := msg.(*soap.CancelTransfer); ok {
				b.transferCompleted(t.Device, c.CommandKey)
			}
		}
		return
	case *soap.DownloadResponse:
		if m.Status != 1 {
			return
		}
	case *soap.UploadResponse:
		if m.Status != 1 {
			return
		}
	default:
		return
	}
	if msg, err := b.buildMessage(t); err == nil {
		switch r := msg.(type) {
		case *soap.Download:
			key = r.CommandKey
		case *soap.Upload:
			key = r.CommandKey
		}
	}
	b.mu.Lock()
	if d := b.devices[t.Device]; d != nil {
		d.rec.Transfers = append(d.rec.Transfers, registry.PendingTransfer{CommandKey: key, Method: t.Method, RequestID: t.ID, Since: b.opts.Now()})
		b.armLocked(d, dueTransfers, b.nextTransferCheckLocked(d))
		b.markDirtyLocked(d)
	}
	b.mu.Unlock()
}

// transferCompleted forgets the pending transfer a TransferComplete (or a CancelTransfer) ends.
func (b *Bridge) transferCompleted(id, commandKey string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.devices[id]
	if d == nil {
		return
	}
	for i, p := range d.rec.Transfers {
		if p.CommandKey == commandKey {
			d.rec.Transfers = noneIfEmpty(append(d.rec.Transfers[:i:i], d.rec.Transfers[i+1:]...))
			b.markDirtyLocked(d)
			return
		}
	}
}

// sweepTransfers publishes transfer_timeout for transfers that waited too long.
func (b *Bridge) sweepTransfers(now time.Time) {
	type late struct {
		id string
		p  registry.PendingTransfer
	}
	var lates []late
	b.mu.Lock()
	for _, d := range b.popDueLocked(dueTransfers, now) { // deadlines.go: only the devices due
		id := d.rec.ID
		kept := d.rec.Transfers[:0]
		for _, p := range d.rec.Transfers {
			if now.Sub(p.Since) > b.opts.TransferTimeout {
				lates = append(lates, late{id, p})
				b.markDirtyLocked(d)
				continue
			}
			kept = append(kept, p)
		}
		d.rec.Transfers = noneIfEmpty(kept)
		if at := b.nextTransferCheckLocked(d); !at.IsZero() {
			b.armLocked(d, dueTransfers, at)
		}
	}
	b.mu.Unlock()
	for _, l := range lates {
		b.log.Warn("no TransferComplete within tasks.transfer_timeout", zap.String("device", l.id), zap.String("command_key", l.p.CommandKey))
		unlock := b.lockDeviceOrder(l.id)
		b.to(nil).put(b.out.DeviceEvent(api.DeviceEvent{Event: api.EventTransferTimeout, Device: l.id, CommandKey: l.p.CommandKey,
			Data: api.TransferTimeoutData{Method: l.p.Method, RequestID: l.p.RequestID, WaitedSeconds: now.Sub(l.p.Since).Seconds()},
			Time: b.opts.Now().UTC()}))
		unlock()
	}
}

// noneIfEmpty is nil for an emptied list: an empty slice still holds its array, and a device
// whose transfers all ended keeps no transfer state.
func noneIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
