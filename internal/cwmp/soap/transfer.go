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

// transferArgs holds every child element the transfer messages use, so that one decoder serves
// them all; each message copies out the fields it defines. CommandKey, Username and Password are
// kept verbatim (spaces may be part of a key or a secret); other strings are trimmed.
type transferArgs struct {
	CommandKey, FileType, URL, Username, Password, TargetFileName string
	AnnounceURL, TransferURL, SuccessURL, FailureURL              string
	FileSize                                                      uint64
	DelaySeconds                                                  uint32
	IsDownload                                                    bool
	Status, State                                                 int
	Fault                                                         FaultStruct
	StartTime, CompleteTime                                       DateTime
}

func (d *decoder) transferArgs(e *etree.Element) transferArgs {
	var t transferArgs
	for c := range e.ChildElementsSeq() {
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
		case "TargetFileName":
			t.TargetFileName = text(c)
		case "AnnounceURL":
			t.AnnounceURL = text(c)
		case "TransferURL":
			t.TransferURL = text(c)
		case "SuccessURL":
			t.SuccessURL = text(c)
		case "FailureURL":
			t.FailureURL = text(c)
		case "FileSize":
			t.FileSize = d.uint64(c)
		case "DelaySeconds":
			t.DelaySeconds = d.uint32(c)
		case "IsDownload":
			t.IsDownload = d.bool(c)
		case "Status":
			t.Status = d.int(c)
		case "State":
			t.State = d.int(c)
		case "FaultStruct":
			t.Fault = d.faultStruct(c)
		case "StartTime":
			t.StartTime = dateTime(c)
		case "CompleteTime":
			t.CompleteTime = dateTime(c)
		}
	}
	return t
}

// TransferComplete: FaultCode 0 is success; an empty CommandKey is valid (checklist 42).
func (m *TransferComplete) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	m.CommandKey, m.Fault, m.StartTime, m.CompleteTime = t.CommandKey, t.Fault, t.StartTime, t.CompleteTime
}

func (m *TransferComplete) encode(w *encoder) {
	w.str("CommandKey", m.CommandKey)
	w.faultStruct("FaultStruct", m.Fault)
	w.dateTime("StartTime", m.StartTime)
	w.dateTime("CompleteTime", m.CompleteTime)
}

func (m *AutonomousTransferComplete) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	*m = AutonomousTransferComplete{
		AnnounceURL: t.AnnounceURL, TransferURL: t.TransferURL, IsDownload: t.IsDownload,
		FileType: t.FileType, FileSize: t.FileSize, TargetFileName: t.TargetFileName,
		Fault: t.Fault, StartTime: t.StartTime, CompleteTime: t.CompleteTime,
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
	m.FileType = d.transferArgs(e).FileType
	m.FileTypeArg = decodeArray(e, "FileTypeArg", func(s *etree.Element) (a ArgStruct) {
		for f := range s.ChildElementsSeq() {
			switch f.Tag {
			case "Name":
				a.Name = text(f)
			case "Value":
				a.Value = f.Text()
			}
		}
		return a
	})
}

func (m *RequestDownload) encode(w *encoder) {
	w.str("FileType", m.FileType)
	encodeStructArray(w, "FileTypeArg", "ArgStruct", m.FileTypeArg, func(a *ArgStruct) {
		w.str("Name", a.Name)
		w.str("Value", a.Value)
	})
}

// Download: every child is always written, FileSize 0 and empty URLs included (checklist 41).
func (m *Download) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	*m = Download{
		CommandKey: t.CommandKey, FileType: t.FileType, URL: t.URL, Username: t.Username, Password: t.Password,
		FileSize: t.FileSize, TargetFileName: t.TargetFileName, DelaySeconds: t.DelaySeconds,
		SuccessURL: t.SuccessURL, FailureURL: t.FailureURL,
	}
}

// transferTarget writes the first five children of Download, Upload and ScheduleDownload.
func (w *encoder) transferTarget(commandKey, fileType, url, username, password string) {
	w.str("CommandKey", commandKey)
	w.str("FileType", fileType)
	w.str("URL", url)
	w.str("Username", username)
	w.str("Password", password)
}

func (m *Download) encode(w *encoder) {
	w.transferTarget(m.CommandKey, m.FileType, m.URL, m.Username, m.Password)
	w.uint("FileSize", m.FileSize)
	w.str("TargetFileName", m.TargetFileName)
	w.uint("DelaySeconds", uint64(m.DelaySeconds))
	w.str("SuccessURL", m.SuccessURL)
	w.str("FailureURL", m.FailureURL)
}

func (m *Upload) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	*m = Upload{
		CommandKey: t.CommandKey, FileType: t.FileType, URL: t.URL, Username: t.Username, Password: t.Password,
		DelaySeconds: t.DelaySeconds,
	}
}

func (m *Upload) encode(w *encoder) {
	w.transferTarget(m.CommandKey, m.FileType, m.URL, m.Username, m.Password)
	w.uint("DelaySeconds", uint64(m.DelaySeconds))
}

func (m *ScheduleDownload) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	*m = ScheduleDownload{
		CommandKey: t.CommandKey, FileType: t.FileType, URL: t.URL, Username: t.Username, Password: t.Password,
		FileSize: t.FileSize, TargetFileName: t.TargetFileName,
	}
	m.TimeWindowList = decodeArray(e, "TimeWindowList", func(s *etree.Element) (tw TimeWindow) {
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
		return tw
	})
}

func (m *ScheduleDownload) encode(w *encoder) {
	w.transferTarget(m.CommandKey, m.FileType, m.URL, m.Username, m.Password)
	w.uint("FileSize", m.FileSize)
	w.str("TargetFileName", m.TargetFileName)
	encodeStructArray(w, "TimeWindowList", "TimeWindowStruct", m.TimeWindowList, func(tw *TimeWindow) {
		w.uint("WindowStart", uint64(tw.WindowStart))
		w.uint("WindowEnd", uint64(tw.WindowEnd))
		w.str("WindowMode", tw.WindowMode)
		w.str("UserMessage", tw.UserMessage)
		w.int("MaxRetries", int64(tw.MaxRetries))
	})
}

// DownloadResponse and UploadResponse: Status 1 means a TransferComplete follows in a later
// session (checklist 41).
func (m *DownloadResponse) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	m.Status, m.StartTime, m.CompleteTime = t.Status, t.StartTime, t.CompleteTime
}

func (m *DownloadResponse) encode(w *encoder) {
	w.transferResult(m.Status, m.StartTime, m.CompleteTime)
}

func (m *UploadResponse) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	m.Status, m.StartTime, m.CompleteTime = t.Status, t.StartTime, t.CompleteTime
}

func (m *UploadResponse) encode(w *encoder) {
	w.transferResult(m.Status, m.StartTime, m.CompleteTime)
}

func (w *encoder) transferResult(status int, start, complete DateTime) {
	w.int("Status", int64(status))
	w.dateTime("StartTime", start)
	w.dateTime("CompleteTime", complete)
}

func (m *CancelTransfer) decode(d *decoder, e *etree.Element) {
	m.CommandKey = d.transferArgs(e).CommandKey
}
func (m *CancelTransfer) encode(w *encoder) { w.str("CommandKey", m.CommandKey) }

func (m *GetQueuedTransfersResponse) decode(d *decoder, e *etree.Element) {
	m.TransferList = decodeArray(e, "TransferList", func(s *etree.Element) QueuedTransfer {
		t := d.transferArgs(s)
		return QueuedTransfer{CommandKey: t.CommandKey, State: t.State}
	})
}

func (m *GetQueuedTransfersResponse) encode(w *encoder) {
	encodeStructArray(w, "TransferList", "QueuedTransferStruct", m.TransferList, func(q *QueuedTransfer) {
		w.str("CommandKey", q.CommandKey)
		w.int("State", int64(q.State))
	})
}

func (m *GetAllQueuedTransfersResponse) decode(d *decoder, e *etree.Element) {
	m.TransferList = decodeArray(e, "TransferList", func(s *etree.Element) AllQueuedTransfer {
		t := d.transferArgs(s)
		return AllQueuedTransfer{
			CommandKey: t.CommandKey, State: t.State, IsDownload: t.IsDownload,
			FileType: t.FileType, FileSize: t.FileSize, TargetFileName: t.TargetFileName,
		}
	})
}

func (m *GetAllQueuedTransfersResponse) encode(w *encoder) {
	encodeStructArray(w, "TransferList", "AllQueuedTransferStruct", m.TransferList, func(q *AllQueuedTransfer) {
		w.str("CommandKey", q.CommandKey)
		w.int("State", int64(q.State))
		w.bool("IsDownload", q.IsDownload)
		w.str("FileType", q.FileType)
		w.uint("FileSize", q.FileSize)
		w.str("TargetFileName", q.TargetFileName)
	})
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
