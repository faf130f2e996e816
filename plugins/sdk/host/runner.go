package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk/internal/wire"
)

// procRunner starts a plugin process for go-plugin (ClientConfig.RunnerFunc). Owning the
// exec.Cmd lets the host set the environment itself, Pdeathsig, a sanitised stderr, and get
// told the moment the process exits.
type procRunner struct {
	name   string
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr io.ReadCloser

	pid     int
	exited  chan struct{} // closed once the process has been reaped
	exitErr error         // valid after exited is closed
	once    sync.Once
	// tail keeps the last lines of stderr: a plugin that dies says why there, and the reason
	// of plugin_failed must carry it.
	tail *lineTail
}

var _ runner.Runner = (*procRunner)(nil)

// newProcRunner prepares the command; goPluginEnv is what go-plugin put in its template
// command (handshake cookie, protocol versions, mTLS certificate, socket directory).
func newProcRunner(name, path string, args, env, goPluginEnv []string) (*procRunner, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(append([]string(nil), env...), goPluginEnv...)
	cmd.SysProcAttr = sysProcAttr()
	// Stdin stays unset (/dev/null): a plugin has no business with the gateway's stdin.
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	tail := &lineTail{max: stderrTailLines}
	return &procRunner{
		name:   name,
		cmd:    cmd,
		stdout: stdout,
		stderr: teeReadCloser{Reader: io.TeeReader(newLogSanitizer(stderr), tail), Closer: stderr},
		exited: make(chan struct{}),
		tail:   tail,
	}, nil
}

func (r *procRunner) Start(context.Context) error {
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	return nil
}

// Wait is called once, by go-plugin, after stdout and stderr reached EOF.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.once.Do(func() {
		r.exitErr = err
		close(r.exited)
	})
	return err
}

// Kill sends SIGKILL; go-plugin calls it after a graceful shutdown timed out, the supervisor
// calls it for a hung or crashed process.
func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name is the plugin name: go-plugin names the logger of the plugin's stderr after it.
func (r *procRunner) Name() string { return r.name }
func (r *procRunner) ID() string   { return strconv.Itoa(r.pid) }

func (r *procRunner) Diagnose(context.Context) string {
	return "check that " + r.cmd.Path + " is a cwmp2mqtt translator built for this machine (it must call sdk.Serve)"
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// exitReason describes how the process ended, with the last lines of its stderr.
func (r *procRunner) exitReason() string {
	reason := "process exited"
	if r.exitErr != nil {
		reason += ": " + r.exitErr.Error()
	}
	return reason + r.tail.suffix()
}

// startFailure explains a failed start: once the process is gone (go-plugin reaps it after
// reading its output to the end), with its exit status and the last lines of its stderr. A
// plugin that exits with status 2 before serving refused its configuration (the convention of
// sdk.Serve's callers, like a command-line usage error): restarting it cannot help.
func (r *procRunner) startFailure(err error) error {
	select {
	case <-r.exited:
	case <-time.After(exitWait):
		return fmt.Errorf("%w%s", err, r.tail.suffix())
	}
	if r.cmd.ProcessState != nil && r.cmd.ProcessState.ExitCode() == exitConfig {
		return fmt.Errorf("%w: %w (exit status %d)%s", errConfiguration, err, exitConfig, r.tail.suffix())
	}
	return fmt.Errorf("%w (%s)%s", err, r.cmd.ProcessState, r.tail.suffix())
}

// exitConfig is the exit status of a plugin that refused its options.
const exitConfig = 2

// exitWait bounds the wait for a failed plugin to be reaped.
const exitWait = 2 * time.Second

// stderrTailLines is how many stderr lines a failure reason quotes, each cut to tailLineMax.
const (
	stderrTailLines = 5
	tailLineMax     = 300
)

type teeReadCloser struct {
	io.Reader
	io.Closer
}

// lineTail keeps the last max lines written to it.
type lineTail struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

func (t *lineTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = splitLines(t.partial, p, t.add)
	return len(p), nil
}

func (t *lineTail) add(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	if len(line) > tailLineMax {
		line = append(line[:tailLineMax:tailLineMax], "…"...)
	}
	t.lines = append(t.lines, string(line))
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// suffix is "; stderr: line | line" or "" when nothing was written.
func (t *lineTail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(bytes.TrimSpace(t.partial)))
	}
	if len(lines) == 0 {
		return ""
	}
	return "; stderr: " + strings.Join(lines, " | ")
}

// pluginEnv builds a plugin's environment from scratch: the allow-listed variables of the
// gateway, then the plugin's own. Secrets of the gateway (CWMP2MQTT_MQTT_PASSWORD...) never
// reach a vendor's process.
func pluginEnv(allow []string, name string, opts map[string]string, maxMsg int, logLevel string) []string {
	var env []string
	for _, k := range allow {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env,
		wire.EnvName+"="+name,
		wire.EnvMaxMsgSize+"="+strconv.Itoa(maxMsg),
		wire.EnvLogLevel+"="+logLevel,
	)
	for k, v := range opts {
		env = append(env, wire.EnvOptionPrefix+strings.ToUpper(k)+"="+v)
	}
	return env
}
