// Package sdk is what a vendor imports to write a cwmp2mqtt translator: the plain Go types of the
// translator protocol, the Translator interface, Serve to run it as a plugin process, Logger for
// logs the gateway re-emits, and Options for the per-plugin configuration.
//
// Where it sits: CPE → cwmp → bridge → mqtt → platform, with translators beside bridge. The
// gateway's plugin host starts the vendor binary, whose main is just
//
//	func main() { sdk.Serve(acme.New(sdk.Options())) }
//
// and calls it over gRPC (hashicorp/go-plugin) once per Inform, RPC result or request. Neither
// protobuf, gRPC nor go-plugin types appear in this package's API, and it imports nothing else of
// the gateway; plugins/sdk/sdktest is the test harness for the vendor's own CI.
package sdk
