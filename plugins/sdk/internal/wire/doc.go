// Package wire is the part of the translator plugin protocol shared by both ends: the go-plugin
// handshake, the environment a plugin process is started with, and the codec between Go values
// and translator.v1 messages that does not depend on SDK types.
//
// Where it sits: the SDK (inside a translator process) and the host (inside the gateway, beside
// bridge) both import it; nothing else does. The SDK-typed conversions live next to their users
// (sdk for the server direction, host for the client direction) because sdk may import nothing
// that imports sdk.
package wire
