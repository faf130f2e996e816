package testtranslator

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// MainPackage is the import path of the plugin main serving this translator.
const MainPackage = "github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/testtranslator/cmd/testplugin"

// Build compiles the test plugin into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "testplugin")
	out, err := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, MainPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the test plugin: %v\n%s", err, out)
	}
	return bin, nil
}

// Alive says whether pid is a running process; a zombie has exited and counts as gone (the
// reaper of an orphan may be slow, or absent in a container).
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// RunTests builds the test plugin into a temporary directory, stores its path in *path, runs
// the tests and cleans up; a TestMain ends with os.Exit(testtranslator.RunTests(m, &bin)).
func RunTests(m *testing.M, path *string) int {
	dir, err := os.MkdirTemp("", "testplugin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *path, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
