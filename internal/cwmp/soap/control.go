package soap

import "github.com/beevik/etree"

// Device control and discovery RPCs: GetRPCMethods (both ways, TR-069 §A.3.1.1), Reboot,
// FactoryReset, ScheduleInform (§A.3.2.9, A.4.1.4, A.4.1.5) and the CPE's Kicked (§A.4.2.2).

func (m *GetRPCMethodsResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "MethodList" {
			m.MethodList = stringArray(c)
		}
	}
}

func (m *GetRPCMethodsResponse) encode(w *encoder) { w.strings("MethodList", m.MethodList) }

func (m *Reboot) decode(d *decoder, e *etree.Element) { m.CommandKey = d.transferArgs(e).CommandKey }
func (m *Reboot) encode(w *encoder)                   { w.str("CommandKey", m.CommandKey) }

func (m *ScheduleInform) decode(d *decoder, e *etree.Element) {
	t := d.transferArgs(e)
	m.DelaySeconds, m.CommandKey = t.DelaySeconds, t.CommandKey
}

func (m *ScheduleInform) encode(w *encoder) {
	w.uint("DelaySeconds", uint64(m.DelaySeconds))
	w.str("CommandKey", m.CommandKey)
}

func (m *Kicked) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "Command":
			m.Command = text(c)
		case "Referer":
			m.Referer = text(c)
		case "Arg":
			m.Arg = c.Text()
		case "Next":
			m.Next = text(c)
		}
	}
}

func (m *Kicked) encode(w *encoder) {
	w.str("Command", m.Command)
	w.str("Referer", m.Referer)
	w.str("Arg", m.Arg)
	w.str("Next", m.Next)
}

func (m *KickedResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "NextURL" {
			m.NextURL = text(c)
		}
	}
}

func (m *KickedResponse) encode(w *encoder) { w.str("NextURL", m.NextURL) }

func (*GetRPCMethods) decode(*decoder, *etree.Element)          {}
func (*GetRPCMethods) encode(*encoder)                          {}
func (*RebootResponse) decode(*decoder, *etree.Element)         {}
func (*RebootResponse) encode(*encoder)                         {}
func (*FactoryReset) decode(*decoder, *etree.Element)           {}
func (*FactoryReset) encode(*encoder)                           {}
func (*FactoryResetResponse) decode(*decoder, *etree.Element)   {}
func (*FactoryResetResponse) encode(*encoder)                   {}
func (*ScheduleInformResponse) decode(*decoder, *etree.Element) {}
func (*ScheduleInformResponse) encode(*encoder)                 {}
