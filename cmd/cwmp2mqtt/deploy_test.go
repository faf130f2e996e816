package main

// Checks of deploy/: the Dockerfile's layer order, the image build where a Docker engine runs,
// and the Compose and Kubernetes files against the gateway's own configuration loader.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const repoRoot = "../.."

// dockerStep is one instruction of a Dockerfile, continuation lines joined.
type dockerStep struct {
	Op   string // upper case: FROM, COPY, RUN …
	Args string
	Line int
}

func readDockerfile(t *testing.T, path string) []dockerStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []dockerStep
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(cur.String(), " ")
		steps = append(steps, dockerStep{Op: strings.ToUpper(op), Args: strings.TrimSpace(args), Line: start})
		cur.Reset()
	}
	return steps
}

// localReplaces are the go.mod files of the directories go.mod's replace directives point to.
func localReplaces(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "replace"))
		_, target, ok := strings.Cut(line, "=>")
		if !ok {
			continue
		}
		target = strings.Fields(target)[0]
		if strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../") {
			// go mod download reads a directory replacement's go.mod, nothing else of it.
			dirs = append(dirs, filepath.Join(filepath.Clean(target), "go.mod"))
		}
	}
	return dirs
}

// TestDockerfileCopiesWhatEarlyStepsNeed pins the fix of the image build: `go mod download`
// ran before third_party/ (where go.mod's replace points) was copied, and failed. Every file the
// module download needs must be copied by an earlier COPY of the build stage.
func TestDockerfileCopiesWhatEarlyStepsNeed(t *testing.T) {
	steps := readDockerfile(t, filepath.Join(repoRoot, "deploy/docker/Dockerfile"))
	need := append([]string{"go.mod", "go.sum"}, localReplaces(t)...)
	if len(need) == 2 {
		t.Log("go.mod has no local replace directive: only go.mod and go.sum are needed")
	}
	var copied []string
	download := false
	for _, s := range steps {
		if s.Op == "FROM" && download {
			break // the next stage
		}
		switch s.Op {
		case "COPY":
			if strings.Contains(s.Args, "--from=") {
				continue
			}
			f := strings.Fields(s.Args)
			copied = append(copied, f[:len(f)-1]...)
		case "RUN":
			if !strings.Contains(s.Args, "go mod download") {
				continue
			}
			download = true
			for _, n := range need {
				if !coveredBy(n, copied) {
					t.Errorf("Dockerfile line %d runs %q before %s is copied (copied so far: %v)", s.Line, s.Args, n, copied)
				}
			}
		}
	}
	if !download {
		t.Fatal("the Dockerfile's build stage has no `go mod download` step: update this test with the new layout")
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, "deploy/docker/Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pat := range strings.Fields(string(ignore)) {
		for _, n := range need {
			if ok, _ := filepath.Match(pat, n); ok || strings.HasPrefix(n, strings.TrimSuffix(pat, "/")+"/") {
				t.Errorf("Dockerfile.dockerignore pattern %q keeps %s out of the build context", pat, n)
			}
		}
	}
}

func coveredBy(path string, sources []string) bool {
	for _, src := range sources {
		src = filepath.Clean(strings.TrimSuffix(src, "/"))
		if src == "." || src == path || strings.HasPrefix(path, src+"/") {
			return true
		}
	}
	return false
}

// TestDockerImageBuilds builds deploy/docker/Dockerfile where a Docker engine answers and checks
// the image's HEALTHCHECK runs the binary's healthcheck.
func TestDockerImageBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the image build downloads base images and modules")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker command: the image build is checked where a Docker engine runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, docker, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers (docker info: %v: %s): the image build is checked where one runs", err, strings.TrimSpace(string(out)))
	}
	tag := "cwmp2mqtt:test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	ctx, cancel = context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, docker, "build", "-f", "deploy/docker/Dockerfile", "--build-arg", "VERSION=9.9.9-test", "-t", tag, ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(docker, "image", "rm", "-f", tag).Run() })
	out, err := exec.Command(docker, "image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", tag).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"/usr/local/bin/cwmp2mqtt","healthcheck"`) {
		t.Fatalf("image HEALTHCHECK = %s (%v), want the binary's healthcheck", out, err)
	}
	out, err = exec.Command(docker, "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "9.9.9-test") {
		t.Fatalf("docker run %s version: %v: %s", tag, err, out)
	}
}

// k8sContainer is the part of deploy/kubernetes/deployment.yaml the probes live in.
type k8sContainer struct {
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Probes map[string]any `yaml:",inline"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// secretEnv points every *_file key at a temporary file, since the manifests name files the
// test machine does not have.
func secretEnv(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	for _, s := range settings {
		if strings.HasSuffix(s.key, "password_file") {
			p := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(p, []byte("test-secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			env["CWMP2MQTT_"+strings.ToUpper(strings.ReplaceAll(s.key, ".", "_"))] = p
		}
	}
	return env
}

// TestKubernetesProbesUseTheAdminListener loads the ConfigMap's configuration with the gateway's
// own loader and checks the probes reach its admin listener.
func TestKubernetesProbesUseTheAdminListener(t *testing.T) {
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/kubernetes/configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cwmp2mqtt.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["cwmp2mqtt.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(newFlagSet("test"), []string{"--config", file}, func(k string) string { return secretEnv(t, map[string]string{})[k] })
	if err != nil {
		t.Fatalf("the ConfigMap's configuration does not load: %v", err)
	}
	if cfg.Admin.Username == "" || cfg.Admin.Password == "" {
		t.Error("the ConfigMap's admin listener has no credentials")
	}

	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []k8sContainer `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	raw, err = os.ReadFile(filepath.Join(repoRoot, "deploy/kubernetes/deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]string{}
	for _, p := range c.Ports {
		ports[p.Name] = ":" + strconv.Itoa(p.ContainerPort)
	}
	if ports["admin"] != cfg.Admin.Listen {
		t.Errorf("container port admin = %q, admin.listen = %q: the probes would miss the listener", ports["admin"], cfg.Admin.Listen)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "startupProbe": "/healthz", "readinessProbe": "/readyz"} {
		b, _ := yaml.Marshal(c.Probes[probe])
		var p k8sProbe
		_ = yaml.Unmarshal(b, &p)
		if p.HTTPGet.Port != "admin" || strings.SplitN(p.HTTPGet.Path, "?", 2)[0] != path {
			t.Errorf("%s = %s %s, want GET %s on port admin", probe, p.HTTPGet.Path, p.HTTPGet.Port, path)
		}
	}
}

// TestComposeGatewayConfigurationLoads loads the Compose service's environment with the
// gateway's loader: its admin listener is reachable from the published port and valid.
func TestComposeGatewayConfigurationLoads(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/docker/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	svc := compose.Services["cwmp2mqtt"]
	env := map[string]string{"CWMP2MQTT_STORE_PATH": "/data/cwmp2mqtt.db"} // set by the image
	for k, v := range svc.Environment {
		env[k] = v
	}
	cfg, err := loadConfig(newFlagSet("test"), nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the Compose environment does not load: %v", err)
	}
	_, port, _ := strings.Cut(cfg.Admin.Listen, ":")
	published := false
	for _, p := range svc.Ports {
		published = published || strings.HasSuffix(p, ":"+port)
	}
	if !published {
		t.Errorf("admin.listen %s is not published by %v", cfg.Admin.Listen, svc.Ports)
	}
}
