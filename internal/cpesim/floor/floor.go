// Package floor is the performance floor the gateway's ACS is measured against: a trivial
// net/http server that answers every Inform with fixed InformResponse bytes and every other POST
// with 204, with no parsing beyond spotting "Inform", no session state, no auth, no MQTT. It sits
// where cwmp would (simulated CPE → floor), so `cpesim` numbers against it are the cost of HTTP
// and the simulator alone; the gateway's numbers minus these are the gateway's own cost.
package floor

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
)

// informResponse is sent verbatim for every Inform (cwmp-1-0, MaxEnvelopes 1, checklist 31).
var informResponse = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">floor</cwmp:ID></soap-env:Header><soap-env:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></soap-env:Body></soap-env:Envelope>`)

// isInform spots an Inform method element, prefixed or not, with or without attributes.
func isInform(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte("Inform"))
		if j < 0 {
			return false
		}
		j += i
		end := j + len("Inform")
		if j > 0 && (body[j-1] == '<' || body[j-1] == ':') && end < len(body) && (body[end] == '>' || body[end] == ' ' || body[end] == '/') {
			return true
		}
		i = end
	}
}

// Handler is the floor ACS. Informs counts the Informs it answered.
type Handler struct {
	Informs atomic.Int64
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if isInform(body) {
		h.Informs.Add(1)
		w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
		w.Write(informResponse)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
