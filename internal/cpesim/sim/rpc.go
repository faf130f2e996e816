package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cpesim/datamodel"
	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// rpcMethods are the ACS→CPE methods the simulator answers (GetRPCMethodsResponse).
var rpcMethods = []string{
	"GetRPCMethods", "GetParameterNames", "GetParameterValues", "SetParameterValues",
	"GetParameterAttributes", "SetParameterAttributes", "AddObject", "DeleteObject", "Reboot",
	"FactoryReset", "Download", "Upload", "ScheduleInform", "ScheduleDownload", "CancelTransfer",
	"GetQueuedTransfers", "GetAllQueuedTransfers", "ChangeDUState",
}

// unknownTime is the TR-069 "unknown time" of Start/CompleteTime when a transfer is not done.
var unknownTime = soap.NewDateTime(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))

// requestNames are the parameter or object names an ACS request carries, for the fault plan
// and the RPC hook.
func requestNames(req soap.Message) []string {
	switch r := req.(type) {
	case *soap.GetParameterNames:
		return []string{r.ParameterPath}
	case *soap.GetParameterValues:
		return r.ParameterNames
	case *soap.GetParameterAttributes:
		return r.ParameterNames
	case *soap.SetParameterValues:
		out := make([]string, len(r.ParameterList))
		for i, p := range r.ParameterList {
			out[i] = p.Name
		}
		return out
	case *soap.SetParameterAttributes:
		out := make([]string, len(r.ParameterList))
		for i, p := range r.ParameterList {
			out[i] = p.Name
		}
		return out
	case *soap.AddObject:
		return []string{r.ObjectName}
	case *soap.DeleteObject:
		return []string{r.ObjectName}
	}
	return nil
}

// execute answers one ACS request with its response or a CPE fault; crashed (no answer) when
// QuirkCrashOnUnknownName fires.
func (c *CPE) execute(req soap.Message) (resp soap.Message, crashed bool) {
	names := requestNames(req)
	ev := RPCEvent{Serial: c.Serial(), Method: req.MethodName(), Names: names}
	defer func() {
		if h := c.cfg.Hooks.OnRPC; h != nil {
			h(ev)
		}
	}()
	if c.has(QuirkCrashOnUnknownName) {
		if name, ok := c.unknownName(req, names); ok {
			c.log.Debug("crash on unknown name", zap.String("method", ev.Method), zap.String("name", name))
			ev.Quirk, ev.Crashed = QuirkCrashOnUnknownName, true
			c.crash()
			return nil, true
		}
	}
	if g, ok := req.(*soap.GetParameterNames); ok && g.NextLevel && c.has(QuirkIgnoreNextLevel) {
		whole := *g
		whole.NextLevel = false
		req, ev.Quirk = &whole, QuirkIgnoreNextLevel
	}
	resp = c.planned(req, names)
	if resp == nil {
		resp = c.dispatch(req)
	}
	if f, ok := resp.(*soap.Fault); ok {
		ev.Fault = f
		c.log.Debug("rpc fault", zap.String("method", ev.Method), zap.Int("code", f.Code))
	}
	if out, q := c.quirkAnswer(req, resp); q != "" {
		resp, ev.Quirk = out, q
	}
	return resp, false
}

// planned returns the FaultPlan's answer to req, or nil.
func (c *CPE) planned(req soap.Message, names []string) soap.Message {
	if r, ok := c.faults.method(req.MethodName()); ok {
		return cpeFault(r.Code, r.String)
	}
	name, r, ok := c.faults.name(names...)
	if !ok {
		return nil
	}
	f := cpeFault(r.Code, r.String)
	if _, spv := req.(*soap.SetParameterValues); spv {
		f = cpeFault(soap.FaultCPEInvalidArguments, "Invalid arguments")
		f.SetParameterValuesFaults = []soap.ParameterFault{{ParameterName: name, FaultCode: r.Code, FaultString: r.String}}
	}
	return f
}

// modelFault turns a data-model error into the CPE's fault. A refused SetParameterValues is
// 9003 with one SetParameterValuesFault per bad parameter (TR-069 §A.3.2.1).
func modelFault(err error) *soap.Fault {
	var se *datamodel.SetError
	if errors.As(err, &se) {
		f := cpeFault(soap.FaultCPEInvalidArguments, "Invalid arguments")
		for _, pf := range se.Faults {
			f.SetParameterValuesFaults = append(f.SetParameterValuesFaults,
				soap.ParameterFault{ParameterName: pf.Name, FaultCode: pf.Code, FaultString: pf.Reason})
		}
		return f
	}
	var de *datamodel.Error
	if errors.As(err, &de) {
		return cpeFault(de.Code, de.Reason+": "+de.Name)
	}
	return cpeFault(soap.FaultCPEInternalError, err.Error())
}

// dispatch runs req against the CPE (TR-069 Annex A.3.2 and A.4.1).
func (c *CPE) dispatch(req soap.Message) soap.Message {
	m := c.Model()
	switch r := req.(type) {
	case *soap.GetRPCMethods:
		return &soap.GetRPCMethodsResponse{MethodList: rpcMethods}
	case *soap.GetParameterNames:
		list, err := m.Names(r.ParameterPath, r.NextLevel)
		if err != nil {
			return modelFault(err)
		}
		return &soap.GetParameterNamesResponse{ParameterList: list}
	case *soap.GetParameterValues:
		list, err := m.Values(r.ParameterNames)
		if err != nil {
			return modelFault(err)
		}
		return &soap.GetParameterValuesResponse{ParameterList: list}
	case *soap.SetParameterValues:
		if err := m.SetValues(r.ParameterList); err != nil {
			return modelFault(err)
		}
		c.setParameterKey(r.ParameterKey)
		for _, p := range r.ParameterList {
			if strings.Contains(p.Name, "ManagementServer.PeriodicInform") {
				c.mu.Lock()
				c.resetPeriodic = true
				c.mu.Unlock()
			}
		}
		return &soap.SetParameterValuesResponse{Status: 0}
	case *soap.GetParameterAttributes:
		list, err := m.Attributes(r.ParameterNames)
		if err != nil {
			return modelFault(err)
		}
		return &soap.GetParameterAttributesResponse{ParameterList: list}
	case *soap.SetParameterAttributes:
		if err := m.SetAttributes(r.ParameterList); err != nil {
			return modelFault(err)
		}
		return &soap.SetParameterAttributesResponse{}
	case *soap.AddObject:
		n, err := m.AddObject(r.ObjectName)
		if err != nil {
			return modelFault(err)
		}
		c.setParameterKey(r.ParameterKey)
		return &soap.AddObjectResponse{InstanceNumber: n, Status: 0}
	case *soap.DeleteObject:
		if err := m.DeleteObject(r.ObjectName); err != nil {
			return modelFault(err)
		}
		c.setParameterKey(r.ParameterKey)
		return &soap.DeleteObjectResponse{Status: 0}
	case *soap.Reboot:
		c.atSessionEnd(func() { c.startBusy(); c.reboot(r.CommandKey) })
		return &soap.RebootResponse{}
	case *soap.FactoryReset:
		c.atSessionEnd(func() { c.startBusy(); c.factoryReset() })
		return &soap.FactoryResetResponse{}
	case *soap.Download:
		c.queueTransfer(&transfer{method: "Download", key: r.CommandKey, fileType: r.FileType, url: r.URL,
			user: r.Username, pass: r.Password, size: r.FileSize, target: r.TargetFileName},
			time.Duration(r.DelaySeconds)*time.Second)
		return &soap.DownloadResponse{Status: 1, StartTime: unknownTime, CompleteTime: unknownTime}
	case *soap.Upload:
		c.queueTransfer(&transfer{method: "Upload", key: r.CommandKey, fileType: r.FileType, url: r.URL,
			user: r.Username, pass: r.Password}, time.Duration(r.DelaySeconds)*time.Second)
		return &soap.UploadResponse{Status: 1, StartTime: unknownTime, CompleteTime: unknownTime}
	case *soap.ScheduleDownload:
		if len(r.TimeWindowList) == 0 {
			return cpeFault(soap.FaultCPEInvalidArguments, "no TimeWindow")
		}
		c.queueTransfer(&transfer{method: "ScheduleDownload", key: r.CommandKey, fileType: r.FileType, url: r.URL,
			user: r.Username, pass: r.Password, size: r.FileSize, target: r.TargetFileName},
			time.Duration(r.TimeWindowList[0].WindowStart)*time.Second)
		return &soap.ScheduleDownloadResponse{}
	case *soap.ScheduleInform:
		key := r.CommandKey
		c.after(time.Duration(r.DelaySeconds)*time.Second, func() {
			c.addEvent(soap.Event{Code: EventScheduled})
			c.addEvent(soap.Event{Code: "M ScheduleInform", CommandKey: key})
			c.kick()
		})
		return &soap.ScheduleInformResponse{}
	case *soap.CancelTransfer:
		return c.cancelTransfer(r.CommandKey)
	case *soap.GetQueuedTransfers:
		resp := &soap.GetQueuedTransfersResponse{}
		c.mu.Lock()
		for _, t := range c.transfers {
			if t.state < 3 {
				resp.TransferList = append(resp.TransferList, soap.QueuedTransfer{CommandKey: t.key, State: t.state})
			}
		}
		c.mu.Unlock()
		return resp
	case *soap.GetAllQueuedTransfers:
		resp := &soap.GetAllQueuedTransfersResponse{}
		c.mu.Lock()
		for _, t := range c.transfers {
			if t.state < 3 {
				resp.TransferList = append(resp.TransferList, soap.AllQueuedTransfer{CommandKey: t.key, State: t.state,
					IsDownload: t.method != "Upload", FileType: t.fileType, FileSize: t.size, TargetFileName: t.target})
			}
		}
		c.mu.Unlock()
		return resp
	case *soap.ChangeDUState:
		c.atSessionEnd(func() { c.changeDUState(r) })
		return &soap.ChangeDUStateResponse{}
	}
	return cpeFault(soap.FaultCPEMethodNotSupported, "Method not supported: "+req.MethodName())
}

// setParameterKey stores the ParameterKey of a successful SPV/AddObject/DeleteObject (TR-069 §A.3.2.1).
func (c *CPE) setParameterKey(key string) {
	m := c.Model()
	_ = m.Set(m.Root()+"ManagementServer.ParameterKey", key) // absent in odd models: fine
}

func (c *CPE) atSessionEnd(f func()) {
	c.mu.Lock()
	c.afterSession = append(c.afterSession, f)
	c.mu.Unlock()
}

// reboot: the next session says "1 BOOT" and "M Reboot" with the CommandKey (TR-069 §A.3.2.8).
// Transfers not yet started survive; periodic informs restart from now.
func (c *CPE) reboot(commandKey string) {
	c.mu.Lock()
	c.resetPeriodic = true
	c.mu.Unlock()
	c.addEvent(soap.Event{Code: EventBoot})
	c.addEvent(soap.Event{Code: "M Reboot", CommandKey: commandKey})
	c.kick()
}

// factoryReset restores the factory model; the device must bootstrap again (TR-069 §A.3.2.9).
// It keeps its connection-request URL, which belongs to the simulator's listener.
func (c *CPE) factoryReset() {
	old := c.Model()
	crURL, _ := old.Get(old.Root() + "ManagementServer.ConnectionRequestURL")
	c.mu.Lock()
	c.model = c.factory.Clone()
	c.bootstrapped = false
	c.events, c.changed, c.transfers, c.duComplete = nil, nil, nil, nil
	c.resetPeriodic = true
	c.mu.Unlock()
	if crURL.Value.Raw != "" {
		_ = c.SetConnectionRequestURL(crURL.Value.Raw)
	}
	c.boot()
	c.kick()
}

// queueTransfer queues t; it starts after delay (counted from the end of the session, as a
// CPE starts transfers after the session) and reports with a TransferComplete (TR-069 §A.3.3.2).
func (c *CPE) queueTransfer(t *transfer, delay time.Duration) {
	t.state = 1
	c.mu.Lock()
	c.transfers = append(c.transfers, t)
	c.mu.Unlock()
	c.atSessionEnd(func() { c.after(delay, func() { c.runTransfer(t) }) })
}

func (c *CPE) runTransfer(t *transfer) {
	c.mu.Lock()
	if t.state != 1 { // cancelled, or reset away
		c.mu.Unlock()
		return
	}
	t.state = 2
	c.mu.Unlock()
	start := time.Now()
	fault := soap.FaultStruct{}
	if r, ok := c.faults.method("TransferComplete"); ok {
		fault = soap.FaultStruct{FaultCode: r.Code, FaultString: r.String}
	} else if err := c.fetch(t); err != nil {
		code := soap.FaultCPEDownloadFailure
		if t.method == "Upload" {
			code = soap.FaultCPEUploadFailure
		}
		fault = soap.FaultStruct{FaultCode: code, FaultString: err.Error()}
	}
	c.mu.Lock()
	t.state = 3
	t.result = &soap.TransferComplete{CommandKey: t.key, Fault: fault,
		StartTime: soap.NewDateTime(start), CompleteTime: soap.NewDateTime(time.Now())}
	c.mu.Unlock()
	c.addEvent(soap.Event{Code: EventTransferComplete})
	c.addEvent(soap.Event{Code: "M " + t.method, CommandKey: t.key})
	c.kick()
}

// fetch performs a download's HTTP GET when Config.FetchDownloads is on.
func (c *CPE) fetch(t *transfer) error {
	if !c.cfg.FetchDownloads || t.method == "Upload" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return err
	}
	if t.user != "" {
		req.SetBasicAuth(t.user, t.pass)
	}
	resp, err := (&http.Client{Transport: c.cfg.Transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", t.url, resp.Status)
	}
	if t.size > 0 && uint64(n) != t.size {
		return fmt.Errorf("GET %s: %d bytes, want %d", t.url, n, t.size)
	}
	return nil
}

// cancelTransfer removes a transfer that has not started (TR-069 §A.4.1.7; 9021 otherwise).
func (c *CPE) cancelTransfer(key string) soap.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transfers {
		if t.key != key {
			continue
		}
		if t.state != 1 {
			return cpeFault(soap.FaultCPECancelNotPermitted, "transfer already started")
		}
		t.state = 0
		c.transfers = removeItem(c.transfers, t)
		return &soap.CancelTransferResponse{}
	}
	return cpeFault(soap.FaultCPEInvalidArguments, "no transfer with CommandKey "+key)
}

// changeDUState applies the operations and queues DUStateChangeComplete with
// "11 DU STATE CHANGE COMPLETE" and "M ChangeDUState" (TR-069 §A.4.1.10).
func (c *CPE) changeDUState(r *soap.ChangeDUState) {
	now := soap.NewDateTime(time.Now())
	msg := &soap.DUStateChangeComplete{CommandKey: r.CommandKey}
	for _, op := range r.Operations {
		res := soap.OpResult{UUID: op.UUID, Version: op.Version, Resolved: true, StartTime: now, CompleteTime: now}
		switch op.Op {
		case "Install":
			res.CurrentState = "Installed"
		case "Update":
			res.CurrentState = "Installed"
		case "Uninstall":
			res.CurrentState = "Uninstalled"
		default:
			res.CurrentState = "Failed"
			res.Fault = soap.FaultStruct{FaultCode: soap.FaultCPEInvalidArguments, FaultString: "unknown operation " + op.Op}
		}
		if r, ok := c.faults.method("DUStateChangeComplete"); ok {
			res.CurrentState = "Failed"
			res.Fault = soap.FaultStruct{FaultCode: r.Code, FaultString: r.String}
		}
		if res.UUID == "" {
			res.UUID = "00000000-0000-5000-8000-000000000000"
		}
		res.DeploymentUnitRef = c.Model().Root() + "SoftwareModules.DeploymentUnit.1."
		msg.Results = append(msg.Results, res)
	}
	c.mu.Lock()
	c.duComplete = append(c.duComplete, msg)
	c.mu.Unlock()
	c.addEvent(soap.Event{Code: EventDUStateChange})
	c.addEvent(soap.Event{Code: "M ChangeDUState", CommandKey: r.CommandKey})
	c.kick()
}
