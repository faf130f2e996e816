//go:build !linux

package host

import "syscall"

// sysProcAttr: without Pdeathsig, the SDK's parent watch ends orphaned plugins.
func sysProcAttr() *syscall.SysProcAttr { return nil }
