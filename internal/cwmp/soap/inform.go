package soap

import (
	"strconv"

	"github.com/beevik/etree"
)

// Inform (TR-069 §A.3.3.1) is decoded tolerantly (checklist 28–33): only DeviceId/OUI and
// DeviceId/SerialNumber are required; a missing Event, RetryCount, MaxEnvelopes or CurrentTime
// takes a default and leaves a warning.
func (m *Inform) decode(d *decoder, e *etree.Element) {
	var haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams bool
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "DeviceId":
			haveDevice = true
			m.DeviceID.decode(c)
		case "Event":
			haveEvent = true // 0–64 events, EventStruct[0] included (checklist 29)

		case "MaxEnvelopes":
			haveMax = true
			m.MaxEnvelopes = d.tolerantCount(c, 1)
		case "CurrentTime":
			haveTime = true
			m.CurrentTime = dateTime(c)
			if !m.CurrentTime.Valid {
				d.warn("Inform: CurrentTime %q is not a dateTime: kept as text", m.CurrentTime.Raw)
			}
		case "RetryCount":
			haveRetry = true
			m.RetryCount = d.tolerantCount(c, 0) // "00" is 0 (fixture 01)
		case "ParameterList":
			haveParams = true
			m.ParameterList = d.parameterValues(c)
		}
	}
	m.Events = decodeArray(e, "Event", decodeEvent)
	m.check(d, haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams)
}

// check fails an Inform without its device identity and defaults, with a warning, what a
// sloppy CPE left out (checklist 28–33).
func (m *Inform) check(d *decoder, haveDevice, haveEvent, haveMax, haveTime, haveRetry, haveParams bool) {
	switch {
	case !haveDevice:
		d.fail("Inform: DeviceId is missing")
	case m.DeviceID.OUI == "":
		d.fail("Inform: DeviceId/OUI is missing")
	case m.DeviceID.SerialNumber == "":
		d.fail("Inform: DeviceId/SerialNumber is missing")
	}
	if !haveEvent {
		d.warn("Inform: Event is missing: no events assumed")
	}
	if !haveMax {
		m.MaxEnvelopes = 1
		d.warn("Inform: MaxEnvelopes is missing: 1 assumed")
	}
	if !haveTime {
		d.warn("Inform: CurrentTime is missing")
	}
	if !haveRetry {
		d.warn("Inform: RetryCount is missing: 0 assumed")
	}
	if !haveParams {
		d.warn("Inform: ParameterList is missing")
	}
}

// tolerantCount reads an unsignedInt that must not cost the CPE its session: anything unreadable
// becomes def with a warning.
func (d *decoder) tolerantCount(e *etree.Element, def int) int {
	return d.tolerantCountText(e.Tag, text(e), def)
}

// tolerantCountText is tolerantCount of s, the trimmed text of element tag.
func (d *decoder) tolerantCountText(tag, s string, def int) int {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		d.warn("%s: %s %q is not a count: %d assumed", d.method, tag, s, def)
		return def
	}
	return int(n)
}

// decode reads a DeviceIdStruct. Children may carry xsi:type (ignored), OUI may be lower case
// (kept as sent), Manufacturer may hold a newline (kept; only surrounding space is trimmed).
func (id *DeviceID) decode(e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "Manufacturer":
			id.Manufacturer = text(c)
		case "OUI":
			id.OUI = text(c)
		case "ProductClass":
			id.ProductClass = text(c)
		case "SerialNumber":
			id.SerialNumber = text(c)
		}
	}
}

// decodeEvent reads one EventStruct; codes are kept verbatim, unknown ones too (checklist 29,
// 30).
func decodeEvent(s *etree.Element) Event {
	var ev Event
	for c := range s.ChildElementsSeq() {
		switch c.Tag {
		case "EventCode":
			ev.Code = text(c)
		case "CommandKey":
			ev.CommandKey = c.Text()
		}
	}
	return ev
}

func (m *Inform) encode(w *encoder) {
	w.raw("<DeviceId>")
	w.str("Manufacturer", m.DeviceID.Manufacturer)
	w.str("OUI", m.DeviceID.OUI)
	w.str("ProductClass", m.DeviceID.ProductClass)
	w.str("SerialNumber", m.DeviceID.SerialNumber)
	w.raw("</DeviceId>")
	encodeStructArray(w, "Event", "EventStruct", m.Events, func(ev *Event) {
		w.str("EventCode", ev.Code)
		w.str("CommandKey", ev.CommandKey)
	})
	w.int("MaxEnvelopes", int64(m.MaxEnvelopes))
	w.dateTime("CurrentTime", m.CurrentTime)
	w.int("RetryCount", int64(m.RetryCount))
	w.parameterValues("ParameterList", m.ParameterList)
}

func (m *InformResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "MaxEnvelopes" {
			m.MaxEnvelopes = d.int(c)
		}
	}
}

// encode always writes MaxEnvelopes 1, whatever the field says (TR-069 §A.3.3.1, checklist 31).
func (m *InformResponse) encode(w *encoder) { w.raw("<MaxEnvelopes>1</MaxEnvelopes>") }
