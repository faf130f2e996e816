package bridge

import (
	"context"
	"strconv"
	"strings"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/interview"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/present"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/registry"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/acs"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
	"go.uber.org/zap"
)

// Inform registers or refreshes the device, publishes inform, events, state and availability,
// and queues the gateway's own provisioning (acs.Handler).
func (b *Bridge) Inform(ctx context.Context, s *acs.Session, inf *soap.Inform) error {
	// From the Inform's time stamp to its publications in the outbox, no other Inform of the
	// device (a CPE superseding its session) and no other event of it is published in between.
	unlock := b.lockDeviceOrder(s.DeviceID)
	sharedModel, err := b.inform(ctx, s, inf)
	unlock()
	if err != nil {
		return err
	}
	if sharedModel {
		b.queueInterviewRead(ctx, s.DeviceID)
	}
	b.opts.Observer.Inform(s.DeviceID, eventCodes(inf.Events))
	return nil
}

// inform is Inform under the device's order lock; sharedModel says the caller, once it let the
// lock go, queues the state read of an interview that starts from a sibling's names.
func (b *Bridge) inform(ctx context.Context, s *acs.Session, inf *soap.Inform) (sharedModel bool, _ error) {
	now := b.opts.Now()
	s.Encoding.BoolAsNumber = quirk(b.opts.BoolAsNumber, s.Device)
	s.Encoding.DateTimeMillis = quirk(b.opts.DateTimeMillis, s.Device)
	b.mu.Lock()
	d := b.devices[s.DeviceID]
	isNew := d == nil
	if isNew {
		if busy := b.admitNewLocked(now); busy != nil {
			b.mu.Unlock()
			b.registrationRefused(s, busy)
			return false, busy
		}
		d = &device{rec: registry.Record{ID: s.DeviceID, Registered: now}}
		b.devices[s.DeviceID] = d
		b.reg.Add(s.DeviceID, true)
	}
	r := &d.rec
	r.Manufacturer = b.strs.keep(r.Manufacturer, s.Device.Manufacturer)
	r.OUI = b.strs.keep(r.OUI, s.Device.OUI)
	r.ProductClass = b.strs.keep(r.ProductClass, s.Device.ProductClass)
	if r.SerialNumber != s.Device.SerialNumber {
		r.SerialNumber = serialOf(r.ID, s.Device.SerialNumber)
	}
	r.RemoteAddr = s.RemoteAddr.String()
	r.LastInform = now
	b.informParamsLocked(d, inf.ParameterList)
	b.applyKnownParamsLocked(d, inf.ParameterList)
	d.inSession = s.ID
	b.markDirtyLocked(d)
	d.wakeInformedLocked()
	wasOnline := r.Online
	r.Online = true
	b.armAvailabilityLocked(d)
	if b.tasks.Len(d.rec.ID) > 0 {
		b.armTasksLocked(d) // in session: its tasks' timeouts are watched from now on
	}
	b.reg.SetOnline(s.DeviceID, true)
	bootstrap := soap.HasEvent(inf.Events, soap.EventBootstrap)
	boot := bootstrap || soap.HasEvent(inf.Events, soap.EventBoot)
	// Credentials at BOOTSTRAP, and once per gateway run for a device without any (a CPE that
	// refuses them is not asked at every Inform).
	if b.opts.ProvisionConnReq && r.Root != "" && (bootstrap || r.ConnReqUser == "" && !d.credsAsked) {
		d.credsAsked = true
		b.queueCredentialsLocked(d)
	}
	if r.PeriodicInterval == 0 && !d.intervalAsked && r.Root != "" {
		d.intervalAsked = true
		b.queueInternalLocked(d, "GetParameterValues", purposeReadInterval,
			map[string]any{"names": []string{r.Root + "ManagementServer.PeriodicInformInterval"}})
	}
	ivFailed := b.checkInterviewLocked(d, now)
	ivReason, ivKey := "", ""
	if ivFailed == "" {
		ivReason = b.interviewReasonLocked(d, bootstrap, boot)
	}
	if iv := r.Interview; ivReason == "" && iv != nil && iv.State == api.InterviewDone {
		if k := interview.Key(r.OUI, r.ProductClass, iv.Firmware); b.models.Loaded(k) == nil {
			ivKey = k // not loaded since the gateway started
		}
	}
	if boot { // a new device or one back online changed the counts already
		b.reg.TouchCounts()
	}
	var registered *registry.Record
	if isNew { // a new device must survive a crash: written now, not behind
		registered = d.snapshotLocked()
	}
	b.mu.Unlock()

	var out present.Batch
	if registered != nil {
		if _, err := b.putRecords([]*registry.Record{registered}); err != nil {
			b.log.Error("registry write failed", zap.String("device", s.DeviceID), zap.Error(err))
		}
		b.emitBridgeEvent(&out, api.BridgeDeviceRegistered, s.DeviceID, "")
	}
	b.publishInform(&out, s.DeviceID, inf, now)
	if !wasOnline {
		b.to(&out).put(b.out.Availability(s.DeviceID, true, now, ""))
		b.emitBridgeEvent(&out, api.BridgeDeviceOnline, s.DeviceID, "")
	}
	if ivFailed != "" {
		b.endInterview(&out, s.DeviceID, api.InterviewFailed, ivFailed)
	}
	if ivKey != "" {
		b.dataModel(ivKey) // loaded before this session's tasks are checked against it (after a restart)
	}
	sharedModel = ivReason != "" && b.startInterview(&out, s.DeviceID, ivReason)
	b.updateState(ctx, &out, s.DeviceID, boot, eventCodes(inf.Events))
	b.emitInfo(&out, s.DeviceID)
	// One outbox commit for the whole Inform: the session waits for it once. Until it is durable
	// the Inform is not acknowledged: an InformResponse tells the CPE its events were delivered.
	if err := b.pub.EnqueueBatch(out.Msgs...); err != nil {
		b.log.Error("inform not stored in the outbox; Inform refused, the CPE retries", zap.String("device", s.DeviceID),
			zap.Int("messages", len(out.Msgs)), zap.Error(err))
		return false, errNotStored
	}
	return sharedModel, nil
}

// errNotStored answers an Inform the gateway could not store with fault 8005 Retry request
// (TR-069 Table 61): the CPE keeps its events and sends the Inform again (checklist 44).
var errNotStored = soap.NewACSFault(soap.FaultRetryRequest, "the ACS could not store the Inform; retry")

// applyKnownParamsLocked picks the registry fields out of raw parameters (Inform or GPV result).
func (b *Bridge) applyKnownParamsLocked(d *device, params []soap.ParameterValue) {
	r := &d.rec
	for _, p := range params {
		name := p.Name
		if r.Root == "" {
			switch {
			case strings.HasPrefix(name, "InternetGatewayDevice."):
				r.Root = "InternetGatewayDevice."
			case strings.HasPrefix(name, "Device."):
				r.Root = "Device."
			}
		}
		i := strings.Index(name, ".")
		if i < 0 {
			continue
		}
		switch name[i+1:] {
		case "DeviceInfo.SoftwareVersion":
			if r.SoftwareVersion != p.Value.Raw {
				r.Poisoned = nil // new firmware: what crashed the old one may not crash it
			}
			r.SoftwareVersion = b.strs.keep(r.SoftwareVersion, p.Value.Raw)
		case "DeviceInfo.HardwareVersion":
			r.HardwareVersion = b.strs.keep(r.HardwareVersion, p.Value.Raw)
		case "DeviceInfo.ModelName":
			r.ModelName = b.strs.keep(r.ModelName, p.Value.Raw)
		case "ManagementServer.ConnectionRequestURL":
			if u := strings.TrimSpace(p.Value.Raw); u != r.ConnReqURL {
				r.ConnReqURL = u
			}
		case "ManagementServer.UDPConnectionRequestAddress":
			r.ConnReqUDP = strings.TrimSpace(p.Value.Raw)
		case "ManagementServer.PeriodicInformInterval":
			if n, err := strconv.ParseInt(strings.TrimSpace(p.Value.Raw), 10, 64); err == nil && n > 0 {
				r.PeriodicInterval = n
				b.armAvailabilityLocked(d) // a shorter interval brings the offline deadline forward
			}
		}
	}
}

// CPERequest answers the CPE-initiated methods (TR-069 §A.3.2) and publishes each as a device
// event (acs.Handler). The server answers unknown methods with 8000 itself.
func (b *Bridge) CPERequest(ctx context.Context, s *acs.Session, req soap.Message) (soap.Message, error) {
	switch m := req.(type) {
	case *soap.GetRPCMethods:
		return &soap.GetRPCMethodsResponse{MethodList: acsMethods}, nil
	case *soap.TransferComplete:
		b.transferCompleted(s.DeviceID, m.CommandKey)
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.TransferCompleteResponse{}, nil
	case *soap.AutonomousTransferComplete:
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.AutonomousTransferCompleteResponse{}, nil
	case *soap.RequestDownload:
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.RequestDownloadResponse{}, nil
	case *soap.DUStateChangeComplete:
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.DUStateChangeCompleteResponse{}, nil
	case *soap.AutonomousDUStateChangeComplete:
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.AutonomousDUStateChangeCompleteResponse{}, nil
	case *soap.Kicked:
		b.publishCPERequestEvent(s.DeviceID, m)
		return &soap.KickedResponse{NextURL: m.Next}, nil
	}
	return nil, soap.NewACSFault(soap.FaultMethodNotSupported, "method not supported: "+req.MethodName())
}

// acsMethods is the GetRPCMethodsResponse of the ACS (TR-069 Table 5: ACS methods).
var acsMethods = []string{"Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
	"RequestDownload", "DUStateChangeComplete", "AutonomousDUStateChangeComplete", "Kicked"}

func eventCodes(evs []soap.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Code
	}
	return out
}

// quirk reports whether the device is in a quirk list of "OUI" or "OUI-ProductClass" entries.
func quirk(list []string, d soap.DeviceID) bool {
	for _, e := range list {
		oui, pc, hasPC := strings.Cut(strings.TrimSpace(e), "-")
		if strings.EqualFold(oui, d.OUI) && (!hasPC || strings.EqualFold(pc, d.ProductClass)) {
			return true
		}
	}
	return false
}
