package auth

import (
	"errors"
	"fmt"
)

// Identity is who an Inform says the CPE is: its DeviceIdStruct fields (TR-069 A.3.3.1) and the
// gateway's device id built from them (OUI-ProductClass-Serial, escaped).
type Identity struct {
	OUI, ProductClass, SerialNumber string
	DeviceID                        string
}

// ErrWrongDevice: the credentials are right but belong to another device than the one the Inform
// names (per-device credentials, see Devices). The caller answers 403: a new challenge would not
// help.
var ErrWrongDevice = errors.New("auth: credentials belong to another device")

// Device is one entry of per-device credentials.
type Device struct {
	Password string
	// ID, when set, is the one device id (OUI-ProductClass-Serial, as in the MQTT topics) the user
	// may speak for. Empty: the user name itself names the device (see Devices).
	ID string
}

// Devices holds per-device credentials: user name → entry. Unlike Static and Map, a user of
// Devices may only speak for its own device. The rule (docs/operations.md, "CPE
// authentication"): with an explicit Device.ID the Inform's device id must equal it; otherwise
// the user name must equal the Inform's SerialNumber, or OUI-SerialNumber, or the device id.
// Comparisons are exact (case-sensitive, byte for byte).
type Devices map[string]Device

// Password implements Credentials.
func (d Devices) Password(username string) (string, bool) {
	e, ok := d[username]
	return e.Password, ok
}

// permits implements binder.
func (d Devices) permits(username string, id Identity) error {
	e, ok := d[username]
	if !ok {
		return fmt.Errorf("%w: unknown user %q", ErrBadCredentials, username)
	}
	if e.ID != "" {
		if id.DeviceID == e.ID {
			return nil
		}
		return fmt.Errorf("%w: user %q is bound to %q, the Inform names %q", ErrWrongDevice, username, e.ID, id.DeviceID)
	}
	if username == id.SerialNumber || username == id.OUI+"-"+id.SerialNumber || username == id.DeviceID {
		return nil
	}
	return fmt.Errorf("%w: user %q is neither the serial number, OUI-serial nor device id of %q", ErrWrongDevice, username, id.DeviceID)
}

// binder is implemented by Credentials whose users are tied to devices.
type binder interface {
	permits(username string, id Identity) error
}

// permits applies the identity rule of whichever Credentials knows the user first (the one that
// gave the password): shared credentials (Static, Map) speak for any device.
func permits(c Credentials, username string, id Identity) error {
	if ch, ok := c.(Chain); ok {
		for _, creds := range ch {
			if creds == nil {
				continue
			}
			if _, known := creds.Password(username); known {
				return permits(creds, username, id)
			}
		}
		return fmt.Errorf("%w: unknown user %q", ErrBadCredentials, username)
	}
	if b, ok := c.(binder); ok {
		return b.permits(username, id)
	}
	return nil
}
