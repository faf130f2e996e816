package api

import (
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/internal/cwmp/soap"
)

// Inform is the payload of B/D/inform: every Inform as the CPE sent it, made readable.
type Inform struct {
	Device       DeviceIdentity `json:"device"`
	Events       []InformEvent  `json:"events"`
	RetryCount   int            `json:"retry_count"`
	MaxEnvelopes int            `json:"max_envelopes"`
	// CurrentTime is the CPE's clock, often wrong or unset (1970) on CPEs without NTP.
	CurrentTime Timestamp `json:"current_time"`
	// Received is the gateway's clock when the Inform arrived.
	Received   time.Time             `json:"received"`
	Parameters map[string]ParamValue `json:"parameters"`
}

// DeviceIdentity is the DeviceIdStruct with the gateway's device id.
type DeviceIdentity struct {
	ID           string `json:"id"`
	Manufacturer string `json:"manufacturer"`
	OUI          string `json:"oui"`
	ProductClass string `json:"product_class"`
	SerialNumber string `json:"serial"`
}

// InformEvent is one EventStruct: the code verbatim, its name (EventName) and the command key.
type InformEvent struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	CommandKey string `json:"command_key"`
}

// Timestamp is an xs:dateTime as sent and, when it parses, as RFC 3339 in Time. Time is absent
// for an unparseable value and for TR-069's "unknown time" 0001-01-01T00:00:00Z (checklist 32).
type Timestamp struct {
	Raw  string     `json:"raw"`
	Time *time.Time `json:"time,omitempty"`
}

func timestamp(d soap.DateTime) Timestamp {
	return Timestamp{Raw: d.Raw, Time: knownTime(d)}
}

// knownTime is the time of d, or nil when d is unparseable or "unknown".
func knownTime(d soap.DateTime) *time.Time {
	if !d.Valid || d.Unknown() {
		return nil
	}
	t := d.Time
	return &t
}

// InformMessage builds the B/D/inform payload of an Inform received at received.
func InformMessage(deviceID string, inf *soap.Inform, received time.Time) Inform {
	m := Inform{
		Device: DeviceIdentity{
			ID:           deviceID,
			Manufacturer: inf.DeviceID.Manufacturer,
			OUI:          inf.DeviceID.OUI,
			ProductClass: inf.DeviceID.ProductClass,
			SerialNumber: inf.DeviceID.SerialNumber,
		},
		Events:       make([]InformEvent, 0, len(inf.Events)),
		RetryCount:   inf.RetryCount,
		MaxEnvelopes: inf.MaxEnvelopes,
		CurrentTime:  timestamp(inf.CurrentTime),
		Received:     received.UTC(),
		Parameters:   jsonParams(inf.ParameterList),
	}
	for _, e := range inf.Events {
		m.Events = append(m.Events, InformEvent{Code: e.Code, Name: string(EventName(e.Code)), CommandKey: e.CommandKey})
	}
	return m
}
