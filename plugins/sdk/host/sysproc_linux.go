package host

import "syscall"

// sysProcAttr makes the kernel SIGKILL the plugin when the gateway dies, even by SIGKILL. The
// SDK also watches its parent, for the rare case Pdeathsig misses (it follows the thread that
// forked, not the process).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
