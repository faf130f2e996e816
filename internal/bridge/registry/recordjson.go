package registry

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/bridge/api"
)

// AppendJSON appends r as encoding/json marshals it, byte for byte, without reflection: the
// write-behind flush writes the record of every device that informed (its last_inform changed),
// and json.Marshal of it was 3.6 % of the gateway's CPU at 1,000 sessions/s. Transfers, rare, go
// through json.Marshal; so does r entirely when a time has no RFC 3339 form (the error is
// json.Marshal's). TestRecordAppendJSONIsMarshal fills every field, so one added to Record and
// not here fails.
func (r *Record) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	n := 320 + len(r.ID) + len(r.Manufacturer) + len(r.ProductClass) + len(r.SerialNumber) + len(r.ModelName) +
		len(r.SoftwareVersion) + len(r.ConnReqURL) + len(r.ConnReqUser) + len(r.ConnReqPass) + len(r.Translator)
	w := recordWriter{b: append(slices.Grow(dst, n), `{"id":`...), ok: true}
	w.b = api.AppendJSONString(w.b, r.ID)
	w.str("manufacturer", r.Manufacturer, false)
	w.str("oui", r.OUI, false)
	w.str("product_class", r.ProductClass, false)
	w.str("serial", r.SerialNumber, false)
	w.str("model", r.ModelName, true)
	w.str("firmware", r.SoftwareVersion, true)
	w.str("hardware", r.HardwareVersion, true)
	w.str("root", r.Root, true)
	w.str("remote_addr", r.RemoteAddr, true)
	w.key("registered")
	w.b, w.ok = api.AppendJSONTime(w.b, r.Registered)
	if w.ok {
		w.key("last_inform")
		w.b, w.ok = api.AppendJSONTime(w.b, r.LastInform)
	}
	w.str("connreq_url", r.ConnReqURL, true)
	w.str("connreq_udp", r.ConnReqUDP, true)
	w.str("connreq_user", r.ConnReqUser, true)
	w.str("connreq_pass", r.ConnReqPass, true)
	w.str("pending_user", r.PendingUser, true)
	w.str("pending_pass", r.PendingPass, true)
	if r.PeriodicInterval != 0 {
		w.key("periodic_interval")
		w.b = strconv.AppendInt(w.b, r.PeriodicInterval, 10)
	}
	w.key("online")
	w.b = strconv.AppendBool(w.b, r.Online)
	w.uint("state_sum", r.StateSum)
	w.uint("params_gen", r.ParamsGen)
	w.uint("inform_sum", r.InformSum)
	w.uint("state_of", r.StateOf)
	w.str("translator", r.Translator, true)
	if len(r.Transfers) > 0 {
		b, err := json.Marshal(r.Transfers)
		if err != nil {
			w.ok = false
		}
		w.key("transfers")
		w.b = append(w.b, b...)
	}
	w.strs("quirks", r.Quirks)
	if !r.CRNoSession.IsZero() && w.ok {
		w.key("connreq_no_session")
		w.b, w.ok = api.AppendJSONTime(w.b, r.CRNoSession)
	}
	if r.Interview != nil && w.ok {
		w.key("interview")
		w.b, w.ok = r.Interview.AppendJSON(w.b)
	}
	w.strs("poisoned", r.Poisoned)
	if !w.ok {
		b, err := json.Marshal(r)
		return append(w.b[:start], b...), err
	}
	return append(w.b, '}'), nil
}

// recordWriter appends the members of a JSON object after its first; ok turns false when one
// cannot be written as json.Marshal would.
type recordWriter struct {
	b  []byte
	ok bool
}

func (w *recordWriter) key(k string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *recordWriter) str(k, v string, omitEmpty bool) {
	if v == "" && omitEmpty {
		return
	}
	w.key(k)
	w.b = api.AppendJSONString(w.b, v)
}

func (w *recordWriter) uint(k string, v uint64) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendUint(w.b, v, 10)
	}
}

func (w *recordWriter) strs(k string, v []string) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	for i, s := range v {
		if i == 0 {
			w.b = append(w.b, '[')
		} else {
			w.b = append(w.b, ',')
		}
		w.b = api.AppendJSONString(w.b, s)
	}
	w.b = append(w.b, ']')
}
