package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// runtime.memory_limit is the Go runtime's soft memory limit (debug.SetMemoryLimit). Without
// one the heap grows to twice what is live before a collection (GOGC 100), and a restart's
// republication of every device leaves that much garbage behind; with one the collector runs
// sooner as the process nears it and the scavenger returns free pages to the OS, so the
// gateway fits the memory it is given instead of being killed for exceeding it. It is soft: a
// live heap above it is not an error, the collector then runs often (Go caps that at about half
// the CPU). Pages of the store file that bbolt's map touched count in RSS too but are not the
// runtime's (page cache the kernel reclaims): the limit does not bound them.

// memoryLimitAuto is runtime.memory_limit "auto": memoryLimitShare of the cgroup's memory limit
// (a container's), none without one; GOMEMLIMIT, when set, is left as the runtime read it.
const (
	memoryLimitAuto  = -1
	memoryLimitShare = 0.9
)

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// memoryLimit reads runtime.memory_limit: auto, off (0) or a size in bytes with an optional
// unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB).
func (r *reader) memoryLimit(key string) int64 {
	raw := strings.TrimSpace(fmt.Sprint(r.v.Get(key)))
	switch strings.ToLower(raw) {
	case "auto":
		return memoryLimitAuto
	case "off", "0", "none", "":
		return 0
	}
	n, err := parseByteSize(raw)
	if err != nil {
		r.bad(key, "must be auto, off or a size such as 512MiB or 2GiB, not %q", raw)
		return memoryLimitAuto
	}
	if n < 16<<20 {
		r.bad(key, "%q is below 16MiB: the gateway alone needs more (off for no limit)", raw)
	}
	return n
}

var byteUnits = map[string]float64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}

// parseByteSize reads "512MiB", "1.5GiB", "1000000".
func parseByteSize(s string) (int64, error) {
	i := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mul, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mul >= math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(f * mul), nil
}

// cgroupMemoryLimit is the lowest memory limit of the process's cgroup and its parents (cgroup
// v2, or v1's memory controller), from procCgroup (/proc/self/cgroup) and the cgroup files
// below root; ok false when there is none.
func cgroupMemoryLimit(procCgroup, root string) (limit int64, ok bool) {
	f, err := os.Open(procCgroup)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controllers:path; v2 is "0::/path", v1's memory controller "N:memory:/path".
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			for dir := filepath.Join(root, parts[2]); strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
				if n, found := readLimit(filepath.Join(dir, "memory.max")); found && (!ok || n < limit) {
					limit, ok = n, true
				}
				if dir == root {
					break
				}
			}
		case strings.Contains(","+parts[1]+",", ",memory,"):
			if n, found := readLimit(filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes")); found && n < 1<<62 && (!ok || n < limit) {
				limit, ok = n, true
			}
		}
	}
	return limit, ok
}

// readLimit reads a cgroup limit file: a number of bytes, or "max" (none).
func readLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil && n > 0
}

// applyMemoryLimit sets the runtime's soft memory limit from runtime.memory_limit (limit:
// memoryLimitAuto, 0 for none, or bytes) and says what it chose. getenv reads GOMEMLIMIT;
// cgroupLimit finds the container's limit.
func applyMemoryLimit(limit int64, getenv func(string) string, cgroupLimit func() (int64, bool), log *zap.Logger) int64 {
	source := "runtime.memory_limit"
	switch limit {
	case memoryLimitAuto:
		if env := getenv("GOMEMLIMIT"); env != "" {
			log.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", env), zap.Int64("bytes", debug.SetMemoryLimit(-1)))
			return debug.SetMemoryLimit(-1)
		}
		cg, ok := cgroupLimit()
		if !ok {
			log.Info("no memory limit: runtime.memory_limit is auto and the gateway runs in no cgroup with a memory limit")
			return debug.SetMemoryLimit(math.MaxInt64)
		}
		limit, source = int64(float64(cg)*memoryLimitShare), "runtime.memory_limit auto: 90 % of the cgroup's memory limit"
	case 0:
		debug.SetMemoryLimit(math.MaxInt64)
		log.Info("no memory limit: runtime.memory_limit is off")
		return math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", zap.Int64("bytes", limit), zap.String("from", source))
	return limit
}
