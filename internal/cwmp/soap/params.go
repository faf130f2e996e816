package soap

import "github.com/beevik/etree"

// Parameter RPCs (TR-069 §A.3.2.1–A.3.2.7): names, values, attributes, objects.

// parameterValues decodes a ParameterValueStruct array whatever its items are called and whatever
// count arrayType claims (checklist 33). Values keep their raw text (checklist 34).
func (d *decoder) parameterValues(e *etree.Element) []ParameterValue {
	n := 0
	for range e.ChildElementsSeq() {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]ParameterValue, 0, n) // the one slice the hot path allocates
	for s := range e.ChildElementsSeq() {
		var p ParameterValue
		var val *etree.Element
		for c := range s.ChildElementsSeq() {
			switch c.Tag {
			case "Name":
				p.Name = text(c)
			case "Value":
				val = c
			}
		}
		if val == nil {
			d.warn("parameter %q has no Value: empty string assumed", p.Name)
			p.Value.Type = TypeString
		} else {
			p.Value = d.value(val, p.Name)
		}
		out = append(out, p)
	}
	return out
}

func (w *encoder) parameterValues(tag string, params []ParameterValue) {
	encodeStructArray(w, tag, "ParameterValueStruct", params, func(p *ParameterValue) {
		w.str("Name", p.Name)
		w.value(p.Value)
	})
}

func (m *GetParameterNames) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "ParameterPath":
			m.ParameterPath = text(c)
		case "NextLevel":
			m.NextLevel = d.bool(c)
		}
	}
}

func (m *GetParameterNames) encode(w *encoder) {
	w.str("ParameterPath", m.ParameterPath)
	w.bool("NextLevel", m.NextLevel)
}

func (m *GetParameterNamesResponse) decode(d *decoder, e *etree.Element) {
	m.ParameterList = decodeArray(e, "ParameterList", func(s *etree.Element) (p ParameterInfo) {
		for f := range s.ChildElementsSeq() {
			switch f.Tag {
			case "Name":
				p.Name = text(f)
			case "Writable":
				p.Writable = d.bool(f)
			}
		}
		return p
	})
}

func (m *GetParameterNamesResponse) encode(w *encoder) {
	encodeStructArray(w, "ParameterList", "ParameterInfoStruct", m.ParameterList, func(p *ParameterInfo) {
		w.str("Name", p.Name)
		w.bool("Writable", p.Writable)
	})
}

func (m *GetParameterValues) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "ParameterNames" {
			m.ParameterNames = stringArray(c)
		}
	}
}

func (m *GetParameterValues) encode(w *encoder) { w.strings("ParameterNames", m.ParameterNames) }

func (m *GetParameterValuesResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "ParameterList" {
			m.ParameterList = d.parameterValues(c)
		}
	}
}

func (m *GetParameterValuesResponse) encode(w *encoder) {
	w.parameterValues("ParameterList", m.ParameterList)
}

func (m *SetParameterValues) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "ParameterList":
			m.ParameterList = d.parameterValues(c)
		case "ParameterKey":
			m.ParameterKey = c.Text()
		}
	}
}

// encode always writes ParameterKey, empty or not (checklist 36).
func (m *SetParameterValues) encode(w *encoder) {
	w.parameterValues("ParameterList", m.ParameterList)
	w.str("ParameterKey", m.ParameterKey)
}

func (m *SetParameterValuesResponse) decode(d *decoder, e *etree.Element) {
	m.Status = d.status(e)
}

func (m *SetParameterValuesResponse) encode(w *encoder) { w.int("Status", int64(m.Status)) }

// status reads the Status child of a response (0 applied, 1 applied later: checklist 38).
func (d *decoder) status(e *etree.Element) int {
	var s int
	for c := range e.ChildElementsSeq() {
		if c.Tag == "Status" {
			s = d.int(c)
		}
	}
	return s
}

func (m *GetParameterAttributes) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		if c.Tag == "ParameterNames" {
			m.ParameterNames = stringArray(c)
		}
	}
}

func (m *GetParameterAttributes) encode(w *encoder) { w.strings("ParameterNames", m.ParameterNames) }

func (m *GetParameterAttributesResponse) decode(d *decoder, e *etree.Element) {
	m.ParameterList = decodeArray(e, "ParameterList", func(s *etree.Element) ParameterAttribute {
		p := d.attributeStruct(s)
		return ParameterAttribute{Name: p.Name, Notification: p.Notification, AccessList: p.AccessList}
	})
}

func (m *GetParameterAttributesResponse) encode(w *encoder) {
	encodeStructArray(w, "ParameterList", "ParameterAttributeStruct", m.ParameterList, func(p *ParameterAttribute) {
		w.str("Name", p.Name)
		w.int("Notification", int64(p.Notification))
		w.strings("AccessList", p.AccessList)
	})
}

func (m *SetParameterAttributes) decode(d *decoder, e *etree.Element) {
	m.ParameterList = decodeArray(e, "ParameterList", d.attributeStruct)
}

// attributeStruct reads a SetParameterAttributesStruct, or the ParameterAttributeStruct subset.
func (d *decoder) attributeStruct(s *etree.Element) (p SetParameterAttribute) {
	for f := range s.ChildElementsSeq() {
		switch f.Tag {
		case "Name":
			p.Name = text(f)
		case "NotificationChange":
			p.NotificationChange = d.bool(f)
		case "Notification":
			p.Notification = d.int(f)
		case "AccessListChange":
			p.AccessListChange = d.bool(f)
		case "AccessList":
			p.AccessList = stringArray(f)
		}
	}
	return p
}

func (m *SetParameterAttributes) encode(w *encoder) {
	encodeStructArray(w, "ParameterList", "SetParameterAttributesStruct", m.ParameterList, func(p *SetParameterAttribute) {
		w.str("Name", p.Name)
		w.bool("NotificationChange", p.NotificationChange)
		w.int("Notification", int64(p.Notification))
		w.bool("AccessListChange", p.AccessListChange)
		w.strings("AccessList", p.AccessList)
	})
}

// objectRequest is the shared body of AddObject and DeleteObject.
func decodeObjectRequest(e *etree.Element) (objectName, parameterKey string) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "ObjectName":
			objectName = text(c)
		case "ParameterKey":
			parameterKey = c.Text()
		}
	}
	return objectName, parameterKey
}

func (w *encoder) objectRequest(objectName, parameterKey string) {
	w.str("ObjectName", objectName)
	w.str("ParameterKey", parameterKey)
}

func (m *AddObject) decode(d *decoder, e *etree.Element) {
	m.ObjectName, m.ParameterKey = decodeObjectRequest(e)
}
func (m *AddObject) encode(w *encoder) { w.objectRequest(m.ObjectName, m.ParameterKey) }

func (m *DeleteObject) decode(d *decoder, e *etree.Element) {
	m.ObjectName, m.ParameterKey = decodeObjectRequest(e)
}
func (m *DeleteObject) encode(w *encoder) { w.objectRequest(m.ObjectName, m.ParameterKey) }

func (m *AddObjectResponse) decode(d *decoder, e *etree.Element) {
	for c := range e.ChildElementsSeq() {
		switch c.Tag {
		case "InstanceNumber":
			m.InstanceNumber = d.uint32(c)
		case "Status":
			m.Status = d.int(c)
		}
	}
}

func (m *AddObjectResponse) encode(w *encoder) {
	w.uint("InstanceNumber", uint64(m.InstanceNumber))
	w.int("Status", int64(m.Status))
}

func (m *DeleteObjectResponse) decode(d *decoder, e *etree.Element) { m.Status = d.status(e) }
func (m *DeleteObjectResponse) encode(w *encoder)                   { w.int("Status", int64(m.Status)) }

func (*SetParameterAttributesResponse) decode(*decoder, *etree.Element) {}
func (*SetParameterAttributesResponse) encode(*encoder)                 {}
