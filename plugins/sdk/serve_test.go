package sdk_test

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator"
	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

var testPlugin string

func TestMain(m *testing.M) {
	os.Exit(testtranslator.RunTests(m, &testPlugin))
}

func TestServeRefusesAManualStart(t *testing.T) {
	cmd := exec.Command(testPlugin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "This binary is a plugin") {
		t.Fatalf("manual start: %v\n%s", err, out)
	}
}

// TestServeExitsWhenParentDies starts a plugin under a shell (so no Pdeathsig is involved),
// SIGKILLs the shell and checks the orphaned plugin notices and exits.
func TestServeExitsWhenParentDies(t *testing.T) {
	sh := exec.Command("sh", "-c", `"$0" & echo "pid $!"; wait`, testPlugin)
	sh.Env = []string{"PATH=" + os.Getenv("PATH"), wire.Handshake.MagicCookieKey + "=" + wire.Handshake.MagicCookieValue}
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	pid, served := 0, false
	sc := bufio.NewScanner(out)
	for (pid == 0 || !served) && sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(p)
		} else if strings.HasPrefix(sc.Text(), "1|1|unix|") {
			served = true // the go-plugin handshake line: the plugin is serving
		}
	}
	if pid == 0 || !served {
		t.Fatalf("plugin did not start under the shell (pid %d, served %v)", pid, served)
	}
	if err := sh.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = sh.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for testtranslator.Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("orphaned plugin %d still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
