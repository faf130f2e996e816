package soap

import "github.com/beevik/etree"

// SOAP-ENC arrays (TR-069 §A.2.2): decoded whatever their item elements are called and whatever
// count arrayType claims (checklist 33); encoded with arrayType and the true count (checklist 36).

// decodeArray decodes, with item, the item elements of every child of e named tag.
func decodeArray[T any](e *etree.Element, tag string, item func(*etree.Element) T) []T {
	var out []T
	for c := range e.ChildElementsSeq() {
		if c.Tag != tag {
			continue
		}
		for s := range c.ChildElementsSeq() {
			out = append(out, item(s))
		}
	}
	return out
}

// encodeStructArray writes list as the array tag of cwmp:structName, one <structName> element per
// item whose children item writes.
func encodeStructArray[T any](w *encoder, tag, structName string, list []T, item func(*T)) {
	w.openArray(tag, "cwmp:", structName, len(list))
	for i := range list {
		w.open(structName)
		item(&list[i])
		w.close(structName)
	}
	w.close(tag)
}
