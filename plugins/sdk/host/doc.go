// Package host runs the gateway's translators: it starts every translator plugin process
// (hashicorp/go-plugin over gRPC), Describes and registers it beside the in-process built-ins,
// picks a translator per device by match rules, and supervises the processes: health pings,
// call time-outs, restart with back-off, and a crash-loop cap.
//
// Where it sits: CPE → cwmp → bridge → mqtt → platform, with plugins beside bridge. bridge asks
// Select for a device's translator and calls it through the returned handle; a crashed, hung or
// misbehaving plugin costs that call a typed error (ErrTimeout, ErrUnavailable, ErrBadResponse,
// ErrPlugin, ErrTooLarge), never the gateway. The package imports the SDK types and the wire
// protocol only, never cwmp or mqtt.
package host
