//go:build !linux

package mqtt

import "net"

// quickAck is Linux-only (TCP_QUICKACK); elsewhere the connection is used as is.
func quickAck(conn net.Conn) net.Conn { return conn }
