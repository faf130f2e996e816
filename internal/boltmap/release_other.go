//go:build !linux

package boltmap

// release does nothing where MADV_DONTNEED may discard a shared map's pages instead of only
// unmapping them: the pages stay mapped until the system reclaims them.
func release(uintptr, int64) error { return nil }
