package soap

import "github.com/beevik/etree"

// File transfer RPCs (TR-069 §A.3.2.8–A.3.2.10, A.4.1.1–A.4.1.5, A.3.3.2–A.3.3.4): Download,
// Upload, ScheduleDownload, CancelTransfer, queued-transfer listings, and the CPE's
// TransferComplete, AutonomousTransferComplete and RequestDownload.

func (d *decoder) faultStruct(e *etree.Element) FaultStruct {
	var f FaultStruct
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "FaultCode":
			f.FaultCode = d.int(c)
		case "FaultString":
			f.FaultString = c.Text()
		}
	}
	return f
}

func (w *encoder) faultStruct(tag string, f FaultStruct) {
	w.open(tag)
	w.int("FaultCode", int64(f.FaultCode))
	w.str("FaultString", f.FaultString)
	w.close(tag)
}

// TransferComplete: FaultCode 0 is success; an empty CommandKey is valid (checklist 42).
func (m *TransferComplete) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "CommandKey":
			m.CommandKey = c.Text()
		case "FaultStruct":
			m.Fault = d.faultStruct(c)
		case "StartTime":
			m.StartTime = dateTime(c)
		case "CompleteTime":
			m.CompleteTime = dateTime(c)
		}
	}
}

func (m *TransferComplete) encode(w *encoder) {
	w.str("CommandKey", m.CommandKey)
	w.faultStruct("FaultStruct", m.Fault)
	w.dateTime("StartTime", m.StartTime)
	w.dateTime("CompleteTime", m.CompleteTime)
}

func (m *AutonomousTransferComplete) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "AnnounceURL":
			m.AnnounceURL = text(c)
		case "TransferURL":
			m.TransferURL = text(c)
		case "IsDownload":
			m.IsDownload = d.bool(c)
		case "FileType":
			m.FileType = text(c)
		case "FileSize":
			m.FileSize = d.uint64(c)
		case "TargetFileName":
			m.TargetFileName = text(c)
		case "FaultStruct":
			m.Fault = d.faultStruct(c)
		case "StartTime":
			m.StartTime = dateTime(c)
		case "CompleteTime":
			m.CompleteTime = dateTime(c)
		}
	}
}

func (m *AutonomousTransferComplete) encode(w *encoder) {
	w.str("AnnounceURL", m.AnnounceURL)
	w.str("TransferURL", m.TransferURL)
	w.bool("IsDownload", m.IsDownload)
	w.str("FileType", m.FileType)
	w.uint("FileSize", m.FileSize)
	w.str("TargetFileName", m.TargetFileName)
	w.faultStruct("FaultStruct", m.Fault)
	w.dateTime("StartTime", m.StartTime)
	w.dateTime("CompleteTime", m.CompleteTime)
}

func (m *RequestDownload) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "FileType":
			m.FileType = text(c)
		case "FileTypeArg":
			for s := range c.ChildElementsSeq() {
				var a ArgStruct
				for f := range s.ChildElementsSeq() {
					switch f.Tag {
					case "Name":
						a.Name = text(f)
					case "Value":
						a.Value = f.Text()
					}
				}
				m.FileTypeArg = append(m.FileTypeArg, a)
			}
		}
	}
}

func (m *RequestDownload) encode(w *encoder) {
	w.str("FileType", m.FileType)
	w.openArray("FileTypeArg", "cwmp:ArgStruct", len(m.FileTypeArg))
	for _, a := range m.FileTypeArg {
		w.raw("<ArgStruct>")
		w.str("Name", a.Name)
		w.str("Value", a.Value)
		w.raw("</ArgStruct>")
	}
	w.close("FileTypeArg")
}

// transferFields are the children Download, Upload and ScheduleDownload share, decoded in one
// place. Username and Password are kept verbatim: spaces may be part of a secret.
type transferFields struct {
	CommandKey, FileType, URL, Username, Password, TargetFileName string
	FileSize                                                      uint64
	DelaySeconds                                                  uint32
}

func (t *transferFields) decodeChild(d *decoder, c *etree.Element) {
	switch c.Tag {
	case "CommandKey":
		t.CommandKey = c.Text()
	case "FileType":
		t.FileType = text(c)
	case "URL":
		t.URL = text(c)
	case "Username":
		t.Username = c.Text()
	case "Password":
		t.Password = c.Text()
	case "FileSize":
		t.FileSize = d.uint64(c)
	case "TargetFileName":
		t.TargetFileName = text(c)
	case "DelaySeconds":
		t.DelaySeconds = d.uint32(c)
	}
}

// Download: every child is always written, FileSize 0 and empty URLs included (checklist 41).
func (m *Download) decode(d *decoder, e *etree.Element) {
	var t transferFields
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "SuccessURL":
			m.SuccessURL = text(c)
		case "FailureURL":
			m.FailureURL = text(c)
		default:
			t.decodeChild(d, c)
		}
	}
	m.CommandKey, m.FileType, m.URL, m.Username, m.Password = t.CommandKey, t.FileType, t.URL, t.Username, t.Password
	m.FileSize, m.TargetFileName, m.DelaySeconds = t.FileSize, t.TargetFileName, t.DelaySeconds
}

func (m *Download) encode(w *encoder) {
	w.str("CommandKey", m.CommandKey)
	w.str("FileType", m.FileType)
	w.str("URL", m.URL)
	w.str("Username", m.Username)
	w.str("Password", m.Password)
	w.uint("FileSize", m.FileSize)
	w.str("TargetFileName", m.TargetFileName)
	w.uint("DelaySeconds", uint64(m.DelaySeconds))
	w.str("SuccessURL", m.SuccessURL)
	w.str("FailureURL", m.FailureURL)
}

func (m *Upload) decode(d *decoder, e *etree.Element) {
	var t transferFields
	for c := range e.ChildElementsSeq() {
		t.decodeChild(d, c)
	}
	m.CommandKey, m.FileType, m.URL, m.Username, m.Password = t.CommandKey, t.FileType, t.URL, t.Username, t.Password
	m.DelaySeconds = t.DelaySeconds
}

func (m *Upload) encode(w *encoder) {
	w.str("CommandKey", m.CommandKey)
	w.str("FileType", m.FileType)
	w.str("URL", m.URL)
	w.str("Username", m.Username)
	w.str("Password", m.Password)
	w.uint("DelaySeconds", uint64(m.DelaySeconds))
}

func (m *ScheduleDownload) decode(d *decoder, e *etree.Element) {
	var t transferFields
	for c := range e.ChildElementsSeq() {
		if c.Tag != "TimeWindowList" {
			t.decodeChild(d, c)
			continue
		}
		for s := range c.ChildElementsSeq() {
			var tw TimeWindow
			for f := range s.ChildElementsSeq() {
				switch f.Tag {
				case "WindowStart":
					tw.WindowStart = d.uint32(f)
				case "WindowEnd":
					tw.WindowEnd = d.uint32(f)
				case "WindowMode":
					tw.WindowMode = text(f)
				case "UserMessage":
					tw.UserMessage = f.Text()
				case "MaxRetries":
					tw.MaxRetries = d.int(f)
				}
			}
			m.TimeWindowList = append(m.TimeWindowList, tw)
		}
	}
	m.CommandKey, m.FileType, m.URL, m.Username, m.Password = t.CommandKey, t.FileType, t.URL, t.Username, t.Password
	m.FileSize, m.TargetFileName = t.FileSize, t.TargetFileName
}

func (m *ScheduleDownload) encode(w *encoder) {
	w.str("CommandKey", m.CommandKey)
	w.str("FileType", m.FileType)
	w.str("URL", m.URL)
	w.str("Username", m.Username)
	w.str("Password", m.Password)
	w.uint("FileSize", m.FileSize)
	w.str("TargetFileName", m.TargetFileName)
	w.openArray("TimeWindowList", "cwmp:TimeWindowStruct", len(m.TimeWindowList))
	for _, tw := range m.TimeWindowList {
		w.raw("<TimeWindowStruct>")
		w.uint("WindowStart", uint64(tw.WindowStart))
		w.uint("WindowEnd", uint64(tw.WindowEnd))
		w.str("WindowMode", tw.WindowMode)
		w.str("UserMessage", tw.UserMessage)
		w.int("MaxRetries", int64(tw.MaxRetries))
		w.raw("</TimeWindowStruct>")
	}
	w.close("TimeWindowList")
}

// transferResult is the Status/StartTime/CompleteTime body of DownloadResponse and UploadResponse
// (Status 1: a TransferComplete follows in a later session, checklist 41).
func (d *decoder) transferResult(e *etree.Element) (status int, start, complete DateTime) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "Status":
			status = d.int(c)
		case "StartTime":
			start = dateTime(c)
		case "CompleteTime":
			complete = dateTime(c)
		}
	}
	return status, start, complete
}

func (w *encoder) transferResult(status int, start, complete DateTime) {
	w.int("Status", int64(status))
	w.dateTime("StartTime", start)
	w.dateTime("CompleteTime", complete)
}

func (m *DownloadResponse) decode(d *decoder, e *etree.Element) {
	m.Status, m.StartTime, m.CompleteTime = d.transferResult(e)
}
func (m *DownloadResponse) encode(w *encoder) {
	w.transferResult(m.Status, m.StartTime, m.CompleteTime)
}

func (m *UploadResponse) decode(d *decoder, e *etree.Element) {
	m.Status, m.StartTime, m.CompleteTime = d.transferResult(e)
}
func (m *UploadResponse) encode(w *encoder) {
	w.transferResult(m.Status, m.StartTime, m.CompleteTime)
}

func (m *CancelTransfer) decode(d *decoder, e *etree.Element) { m.CommandKey = commandKey(e) }
func (m *CancelTransfer) encode(w *encoder)                   { w.str("CommandKey", m.CommandKey) }

// commandKey reads the CommandKey child, verbatim.
func commandKey(e *etree.Element) string {
	var k string
	for c := range e.ChildElementsSeq() {
		if c.Tag == "CommandKey" {
			k = c.Text()
		}
	}
	return k
}

func (m *GetQueuedTransfersResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag != "TransferList" {
			continue
		}
		for s := range c.ChildElementsSeq() {
			var q QueuedTransfer
			for f := range s.ChildElementsSeq() {
				switch f.Tag {
				case "CommandKey":
					q.CommandKey = f.Text()
				case "State":
					q.State = d.int(f)
				}
			}
			m.TransferList = append(m.TransferList, q)
		}
	}
}

func (m *GetQueuedTransfersResponse) encode(w *encoder) {
	w.openArray("TransferList", "cwmp:QueuedTransferStruct", len(m.TransferList))
	for _, q := range m.TransferList {
		w.raw("<QueuedTransferStruct>")
		w.str("CommandKey", q.CommandKey)
		w.int("State", int64(q.State))
		w.raw("</QueuedTransferStruct>")
	}
	w.close("TransferList")
}

func (m *GetAllQueuedTransfersResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag != "TransferList" {
			continue
		}
		for s := range c.ChildElementsSeq() {
			var q AllQueuedTransfer
			for f := range s.ChildElementsSeq() {
				switch f.Tag {
				case "CommandKey":
					q.CommandKey = f.Text()
				case "State":
					q.State = d.int(f)
				case "IsDownload":
					q.IsDownload = d.bool(f)
				case "FileType":
					q.FileType = text(f)
				case "FileSize":
					q.FileSize = d.uint64(f)
				case "TargetFileName":
					q.TargetFileName = text(f)
				}
			}
			m.TransferList = append(m.TransferList, q)
		}
	}
}

func (m *GetAllQueuedTransfersResponse) encode(w *encoder) {
	w.openArray("TransferList", "cwmp:AllQueuedTransferStruct", len(m.TransferList))
	for _, q := range m.TransferList {
		w.raw("<AllQueuedTransferStruct>")
		w.str("CommandKey", q.CommandKey)
		w.int("State", int64(q.State))
		w.bool("IsDownload", q.IsDownload)
		w.str("FileType", q.FileType)
		w.uint("FileSize", q.FileSize)
		w.str("TargetFileName", q.TargetFileName)
		w.raw("</AllQueuedTransferStruct>")
	}
	w.close("TransferList")
}

// Messages without arguments.

func (*TransferCompleteResponse) decode(*decoder, *etree.Element)           {}
func (*TransferCompleteResponse) encode(*encoder)                           {}
func (*AutonomousTransferCompleteResponse) decode(*decoder, *etree.Element) {}
func (*AutonomousTransferCompleteResponse) encode(*encoder)                 {}
func (*RequestDownloadResponse) decode(*decoder, *etree.Element)            {}
func (*RequestDownloadResponse) encode(*encoder)                            {}
func (*ScheduleDownloadResponse) decode(*decoder, *etree.Element)           {}
func (*ScheduleDownloadResponse) encode(*encoder)                           {}
func (*CancelTransferResponse) decode(*decoder, *etree.Element)             {}
func (*CancelTransferResponse) encode(*encoder)                             {}
func (*GetQueuedTransfers) decode(*decoder, *etree.Element)                 {}
func (*GetQueuedTransfers) encode(*encoder)                                 {}
func (*GetAllQueuedTransfers) decode(*decoder, *etree.Element)              {}
func (*GetAllQueuedTransfers) encode(*encoder)                              {}
