package boltmap

import "golang.org/x/sys/unix"

// release unmaps [addr, addr+size) of a shared file map. MADV_DONTNEED on a shared file map
// drops the page-table entries only: the file's pages stay in the page cache, and nothing
// written is lost (bbolt writes with pwrite, never through the map). addr is a map's start, so
// page aligned; the kernel rounds size up.
func release(addr uintptr, size int64) error {
	if size <= 0 {
		return nil
	}
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
