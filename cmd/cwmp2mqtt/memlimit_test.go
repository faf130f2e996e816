package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

// runtime.memory_limit takes auto (the default), off or a size; anything else, or a size too
// small for the gateway, is an error naming the key.
func TestMemoryLimitKeyValidatedWithErrorNamingTheKey(t *testing.T) {
	for raw, want := range map[string]int64{"": memoryLimitAuto, "auto": memoryLimitAuto, "off": 0, "512MiB": 512 << 20,
		"1.5GiB": 3 << 29, "300MB": 300e6, "268435456": 1 << 28} {
		env := map[string]string{}
		if raw != "" {
			env["CWMP2MQTT_RUNTIME_MEMORY_LIMIT"] = raw
		}
		c, err := load(t, nil, env)
		if err != nil || c.MemoryLimit != want {
			t.Errorf("%q: got %d %v, want %d", raw, c.MemoryLimit, err, want)
		}
	}
	for _, raw := range []string{"lots", "512 potatoes", "-1GiB", "1MiB"} {
		_, err := load(t, nil, map[string]string{"CWMP2MQTT_RUNTIME_MEMORY_LIMIT": raw})
		if err == nil || !strings.Contains(err.Error(), "runtime.memory_limit:") {
			t.Errorf("%q: %v, want an error naming runtime.memory_limit", raw, err)
		}
	}
}

// auto finds the lowest memory limit of the process's cgroup and its parents (cgroup v2), or
// of v1's memory controller; "max" and v1's "unlimited" (a huge number) are none.
func TestMemoryLimitAutoReadsTheCgroupLimit(t *testing.T) {
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	proc := filepath.Join(root, "proc-cgroup")
	write(proc, "0::/pod/gateway\n")
	write(filepath.Join(root, "pod", "memory.max"), "1073741824\n")
	write(filepath.Join(root, "pod", "gateway", "memory.max"), "max\n")
	if n, ok := cgroupMemoryLimit(proc, root); !ok || n != 1<<30 {
		t.Fatalf("v2 with the limit on the parent: %d %v, want 1 GiB", n, ok)
	}
	write(filepath.Join(root, "pod", "gateway", "memory.max"), "536870912\n")
	if n, ok := cgroupMemoryLimit(proc, root); !ok || n != 1<<29 {
		t.Fatalf("v2, the lower of two: %d %v, want 512 MiB", n, ok)
	}
	write(proc, "12:cpu,cpuacct:/x\n11:memory:/docker/abc\n")
	write(filepath.Join(root, "memory", "docker", "abc", "memory.limit_in_bytes"), "9223372036854771712\n")
	if n, ok := cgroupMemoryLimit(proc, root); ok {
		t.Fatalf("v1 unlimited read as a limit of %d", n)
	}
	write(filepath.Join(root, "memory", "docker", "abc", "memory.limit_in_bytes"), "268435456\n")
	if n, ok := cgroupMemoryLimit(proc, root); !ok || n != 1<<28 {
		t.Fatalf("v1: %d %v, want 256 MiB", n, ok)
	}
	if _, ok := cgroupMemoryLimit(filepath.Join(root, "missing"), root); ok {
		t.Fatal("a limit without /proc/self/cgroup")
	}
}

// The limit the gateway runs with: the key's size, 90 % of the cgroup's with auto, GOMEMLIMIT
// left alone with auto when it is set, none with off.
func TestMemoryLimitAppliedToTheRuntime(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := zaptest.NewLogger(t)
	noEnv := func(string) string { return "" }
	noCgroup := func() (int64, bool) { return 0, false }
	cgroup := func() (int64, bool) { return 1 << 30, true }
	check := func(name string, want int64) {
		t.Helper()
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: the runtime's limit is %d, want %d", name, got, want)
		}
	}
	applyMemoryLimit(512<<20, noEnv, cgroup, log)
	check("512MiB", 512<<20)
	applyMemoryLimit(memoryLimitAuto, noEnv, cgroup, log)
	check("auto in a cgroup of 1 GiB", 966367641) // 90 % of 1 GiB
	applyMemoryLimit(memoryLimitAuto, noEnv, noCgroup, log)
	check("auto without a cgroup limit", math.MaxInt64)
	debug.SetMemoryLimit(300 << 20) // as the runtime read GOMEMLIMIT=300MiB at start
	applyMemoryLimit(memoryLimitAuto, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}, cgroup, log)
	check("auto with GOMEMLIMIT", 300<<20)
	applyMemoryLimit(0, noEnv, cgroup, log)
	check("off", math.MaxInt64)
}
