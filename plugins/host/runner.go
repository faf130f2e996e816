package host

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/internal/wire"
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
	return &procRunner{
		name:   name,
		cmd:    cmd,
		stdout: stdout,
		stderr: newLogSanitizer(stderr),
		exited: make(chan struct{}),
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

// exitReason describes how the process ended.
func (r *procRunner) exitReason() string {
	if r.exitErr == nil {
		return "process exited"
	}
	return "process exited: " + r.exitErr.Error()
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
