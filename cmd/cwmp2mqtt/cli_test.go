package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the command line the way main does. Should it start a gateway instead of answering
// (the bug these tests pin), the test fails and the gateway is stopped with SIGINT: every listener
// and the store point at a temporary place so nothing of the host is touched.
func runCLI(t *testing.T, args ...string) (code int, out string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"CWMP2MQTT_CWMP_LISTEN":          "127.0.0.1:0",
		"CWMP2MQTT_MQTT_EMBEDDED_LISTEN": "127.0.0.1:0",
		"CWMP2MQTT_STORE_PATH":           filepath.Join(dir, "store.db"),
	}
	var buf bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, func(k string) string { return env[k] }, &buf) }()
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
		<-done
		t.Fatalf("cwmp2mqtt %q started a gateway instead of answering", args)
	}
	return code, buf.String()
}

func TestCLIUnknownCommandExitsWithUsage(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"hlep"}, {"--config", "x.yaml", "start"}, {"version", "extra"}} {
		code, out := runCLI(t, args...)
		if code != 2 {
			t.Errorf("cwmp2mqtt %q: exit %d, want 2; output:\n%s", args, code, out)
		}
		if !strings.Contains(out, "usage:") || !strings.Contains(out, "plugin standard") {
			t.Errorf("cwmp2mqtt %q: no usage in the output:\n%s", args, out)
		}
	}
}

func TestCLIUnknownFlagExitsWithUsage(t *testing.T) {
	code, out := runCLI(t, "--cwmp.lisen", ":7547")
	if code != 2 || !strings.Contains(out, "cwmp.lisen") || !strings.Contains(out, "usage:") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestCLIVersionFlagPrintsVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, version) {
			t.Errorf("cwmp2mqtt %q: exit %d, output %q; want the version %s", args, code, out, version)
		}
	}
}

func TestCLIHelpListsSubcommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out := runCLI(t, args...)
		if code != 0 {
			t.Errorf("cwmp2mqtt %q: exit %d", args, code)
		}
		for _, want := range []string{"plugin standard", "version", "--config", "--cwmp.listen"} {
			if !strings.Contains(out, want) {
				t.Errorf("cwmp2mqtt %q: help lacks %q:\n%s", args, want, out)
			}
		}
	}
}
