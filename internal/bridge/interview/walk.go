// Package interview is the interview's own logic (docs/design.md §2, docs/mqtt-api.md
// "Interview"): the discovery of a device's data model as a state machine (which
// GetParameterNames to ask next given the answers so far, when the names are complete or the
// interview failed, within `interview.*`), the model key devices share, the per-model names
// store (bucket "models") and which device discovers each model key now.
//
// It sits below `bridge` and imports nothing of it: the bridge drives it with plain values. The
// bridge queues the questions as tasks (taskq), publishes interview_started/_done/_failed
// (present) and keeps the device's interview record under its own lock; a Run is only touched
// under that lock. Models has a lock of its own, taken after the bridge's and never held while
// calling out.
package interview

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cwmp2mqtt/cwmp2mqtt/plugins/sdk"
)

// Options bound an interview (interview.* in cwmp2mqtt.yaml). Zero values take the defaults.
type Options struct {
	Disabled bool // interview.enabled: false
	// MaxNames: a data model with more names is not kept (the interview fails).
	MaxNames int
	// MaxRPCs bounds the RPCs of one interview (the walk sends one GetParameterNames per object).
	MaxRPCs int
	// MaxTime bounds one interview, across sessions.
	MaxTime time.Duration
}

// Defaults of Options (configs/cwmp2mqtt.yaml).
const (
	DefaultMaxNames = 20000
	DefaultMaxRPCs  = 1000
	DefaultMaxTime  = 10 * time.Minute
)

// DefaultOptions is the `interview.*` section with nothing set.
func DefaultOptions() Options {
	return Options{MaxNames: DefaultMaxNames, MaxRPCs: DefaultMaxRPCs, MaxTime: DefaultMaxTime}
}

// SetDefaults gives the zero bounds their defaults.
func (o *Options) SetDefaults() {
	if o.MaxNames == 0 {
		o.MaxNames = DefaultMaxNames
	}
	if o.MaxRPCs == 0 {
		o.MaxRPCs = DefaultMaxRPCs
	}
	if o.MaxTime == 0 {
		o.MaxTime = DefaultMaxTime
	}
}

// ErrTime ends an interview that outlived interview.max_time; ErrGivenUp one found at an Inform
// without a task left.
var (
	ErrTime    = errors.New("the interview took longer than interview.max_time")
	ErrGivenUp = errors.New("the interview's last request was given up: the CPE dropped the session on it tasks.max_attempts times (or on the same request before, so it was not sent again)")
)

// Question is one GetParameterNames to ask: the whole tree below Path (NextLevel false) or one
// level of the walk.
type Question struct {
	Path      string
	NextLevel bool
}

// Reply is what came back for a Question: Listed when the CPE answered with a
// GetParameterNamesResponse (Names its parameter names), Err when it faulted.
type Reply struct {
	Names  []string
	Listed bool
	Err    error
}

// Step is what the answer to a Question leads to: the next question (Ask), the failure
// (Failed), or the complete names (Done).
type Step struct {
	// Ask is the next question. Walk: the whole tree was not usable (WalkWhy says why), the
	// walk starts with Ask.
	Ask     *Question
	Walk    bool
	WalkWhy string
	// Skipped: the CPE would not list the subtree asked (the rest of the model is still kept).
	Skipped error
	// Failed says why the interview failed.
	Failed string
	// Done: discovery is complete; Model holds the device's names (nil when it listed none).
	Done  bool
	Model *sdk.DataModel
}

// Run is an interview in progress (memory only: after a restart the record's "running" state
// starts it again at the next Inform). Its owner serializes the calls.
type Run struct {
	Key     string // model key
	Root    string // the data model's root ("Device." or "InternetGatewayDevice.")
	Started time.Time
	RPCs    int // the interview's RPCs answered so far (each answer, fault or not, is one)
	// Model is the data model once known (discovered, or shared by a sibling).
	Model *sdk.DataModel
	// WaitFor is the model key another device is discovering: this one waits for its names
	// instead of asking the same questions (a site of one model met at once asks them once).
	WaitFor string
	// ReadQueued: the state read is queued (between the names and it, the interview has no task).
	ReadQueued bool

	opts Options
	// discovery: names found so far, objects still to walk, and whether the walk started.
	names   map[string]struct{}
	walk    []string
	walking bool
}

// NewRun starts an interview of a device of model key whose data model is rooted at root.
func NewRun(key, root string, started time.Time, opts Options) *Run {
	opts.SetDefaults()
	return &Run{Key: key, Root: root, Started: started, opts: opts}
}

// Discover makes the run the discovery of its model: the first question is the whole tree.
func (r *Run) Discover() Question {
	r.WaitFor = ""
	r.names = map[string]struct{}{}
	return Question{Path: r.Root}
}

// Walk starts the walk: the root's first level, then each object found in turn.
func (r *Run) Walk() Question {
	r.walking = true
	r.names = map[string]struct{}{}
	r.walk = nil
	return Question{Path: r.Root, NextLevel: true}
}

// Discovering reports whether the run is discovering model key now.
func (r *Run) Discovering(key string) bool {
	return r.Key == key && r.Model == nil && r.WaitFor == ""
}

// Expired reports whether the run outlived interview.max_time at now.
func (r *Run) Expired(now time.Time) bool { return now.Sub(r.Started) > r.opts.MaxTime }

// Answer takes the reply to q at now and says what follows: the walk instead of the whole tree
// (refused, faulted, not listed, or answered one level only), the next object of the walk, the
// failure (past a bound, or the root refused), or the complete names.
func (r *Run) Answer(q Question, reply Reply, now time.Time) Step {
	if r.Expired(now) {
		return Step{Failed: ErrTime.Error()}
	}
	if r.names == nil { // an answer to a discovery that did not start here
		r.names = map[string]struct{}{}
	}
	var step Step
	switch {
	case !q.NextLevel && (reply.Err != nil || !reply.Listed || OneLevel(q.Path, reply.Names)):
		why := "it answered one level only"
		if reply.Err != nil {
			why = reply.Err.Error()
		}
		ask := r.Walk()
		return Step{Ask: &ask, Walk: true, WalkWhy: why}
	case reply.Err != nil && q.Path == r.Root:
		return Step{Failed: "GetParameterNames of the root failed: " + reply.Err.Error()}
	case reply.Err != nil:
		// One subtree the CPE will not list: the rest of the model is still worth having.
		step.Skipped = reply.Err
	case reply.Listed:
		for _, n := range reply.Names {
			if strings.HasPrefix(n, r.Root) {
				r.names[n] = struct{}{}
			}
		}
		if q.NextLevel {
			r.walk = append(r.walk, ToWalk(q.Path, reply.Names)...)
		}
	}
	switch {
	case len(r.names) > r.opts.MaxNames:
		step.Failed = fmt.Sprintf("the data model has more than interview.max_names (%d) names", r.opts.MaxNames)
		return step
	case r.walking && len(r.walk) > 0:
		if r.RPCs >= r.opts.MaxRPCs {
			step.Failed = fmt.Sprintf("the walk needs more than interview.max_rpcs (%d) RPCs", r.opts.MaxRPCs)
			return step
		}
		step.Ask = &Question{Path: r.walk[0], NextLevel: true}
		r.walk = r.walk[1:]
		return step
	}
	names := make([]string, 0, len(r.names))
	for n := range r.names {
		names = append(names, n)
	}
	r.names = nil
	r.Model = sdk.NewDataModel(names)
	step.Done, step.Model = true, r.Model
	return step
}

// OneLevel reports an answer to a whole-tree GetParameterNames that holds no name more than one
// level below path while it lists objects: the CPE ignored NextLevel=false.
func OneLevel(path string, names []string) bool {
	objects := false
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, path)
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(rest, ".")
		if strings.Contains(rest, ".") {
			return false
		}
		objects = objects || strings.HasSuffix(n, ".") && rest != ""
	}
	return objects
}

// ToWalk lists the objects of a NextLevel=true answer still to ask: the objects one level below
// path. An answer that goes deeper than one level comes from a CPE that ignores NextLevel and
// answers the whole subtree: nothing below path needs another question.
func ToWalk(path string, names []string) []string {
	var out []string
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, path)
		if !ok || rest == "" {
			continue
		}
		if strings.Contains(strings.TrimSuffix(rest, "."), ".") {
			return nil
		}
		if strings.HasSuffix(rest, ".") {
			out = append(out, n)
		}
	}
	return out
}
