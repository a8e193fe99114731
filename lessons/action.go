package lessons

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/wasmops"
)

// operatorName is what an uploaded or built operator may be called, as the
// playground accepts it.
var operatorName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Job is what a lesson needs of a running job: its metrics, its
// checkpoints and keyed state, and the controls a learner has in the
// playground.
type Job interface {
	Snapshot() *metrics.Job
	Spec() *spec.Job
	Updated() <-chan struct{}
	SetRate(task string, rate float64) error
	SetCost(task string, cost time.Duration) error
	SetParallelism(task string, n int) error
	SetConfig(task, field string, value any) error
	SetOperator(task, operator string) error
	SetPaused(paused bool)
	SetWindow(d time.Duration) error
	SetCheckpointing(c *spec.Checkpoint) error
	SetBufferDebloat(d *spec.BufferDebloat) error
	Restart()
	Checkpointer
}

// Env is where lessons run: the playground for a learner, a headless runtime
// for verification.
type Env interface {
	Start(ctx context.Context, s *spec.Job) (Job, error)
	// Upload adds an operator under name, as a learner's upload would;
	// source names a bundled one ("wasm:spin").
	Upload(ctx context.Context, name, source string) error
	// Build builds source, the main.go of a Go operator, and adds it under
	// name, replacing one of the same name, as a learner's Build in the
	// operator editor (POST /api/operators/build) would. Jobs that run the
	// old one keep it until their task's operator is set again.
	Build(ctx context.Context, name string, source []byte) error
}

// Action is one thing a learner does, as a reference solution lists it:
// exactly one of its fields besides Task (As, with Upload; Source or
// Template, with Build) is set.
type Action struct {
	Task        string         `yaml:"task" json:"task,omitempty"`
	Rate        *float64       `yaml:"rate" json:"rate,omitempty"`
	Cost        *Duration      `yaml:"cost" json:"cost,omitempty"`
	Parallelism int            `yaml:"parallelism" json:"parallelism,omitempty"`
	Config      map[string]any `yaml:"config" json:"config,omitempty"`
	Operator    string         `yaml:"operator" json:"operator,omitempty"`
	Paused      *bool          `yaml:"paused" json:"paused,omitempty"`
	Window      *Duration      `yaml:"window" json:"window,omitempty"`
	Pick        string         `yaml:"pick" json:"pick,omitempty"`
	Answer      string         `yaml:"answer" json:"answer,omitempty"`
	Upload      string         `yaml:"upload" json:"upload,omitempty"` // a bundled operator, "wasm:NAME"
	As          string         `yaml:"as" json:"as,omitempty"`         // the upload's name
	// Build is the name of an operator the learner writes in the operator
	// editor and builds as upload:NAME: from Source, the Go source of its
	// main.go, or from Template, one of wasmops.TemplateNames.
	Build    string `yaml:"build" json:"build,omitempty"`
	Source   string `yaml:"source" json:"source,omitempty"`
	Template string `yaml:"template" json:"template,omitempty"`
	Continue bool   `yaml:"continue" json:"continue,omitempty"`
	Open     string `yaml:"open" json:"open,omitempty"` // a view of Task the learner opens: one of Views
	// Checkpoint and BufferDebloat change the job's checkpoints and buffer
	// debloating, as the controls in the job's header do; Restart restarts
	// the job from its latest completed checkpoint, as its Restart button.
	// Each restarts the job.
	Checkpoint    *CheckpointChange `yaml:"checkpoint" json:"checkpoint,omitempty"`
	BufferDebloat *DebloatChange    `yaml:"buffer-debloat" json:"buffer-debloat,omitempty"`
	Restart       bool              `yaml:"restart" json:"restart,omitempty"`
}

// String describes the action as a learner would do it.
func (a Action) String() string {
	switch {
	case a.Rate != nil:
		return fmt.Sprintf("set the rate of %s to %g records/s", a.Task, *a.Rate)
	case a.Cost != nil:
		return fmt.Sprintf("set the cost of %s to %v per record", a.Task, a.Cost.Duration)
	case a.Parallelism > 0:
		return fmt.Sprintf("set the parallelism of %s to %d", a.Task, a.Parallelism)
	case a.Config != nil:
		var parts []string
		for k, v := range a.Config {
			parts = append(parts, fmt.Sprintf("%s: %v", k, v))
		}
		return fmt.Sprintf("set %s of %s", strings.Join(parts, ", "), a.Task)
	case a.Operator != "":
		return fmt.Sprintf("run %s in task %s", a.Operator, a.Task)
	case a.Paused != nil && *a.Paused:
		return "pause the sources"
	case a.Paused != nil:
		return "resume the sources"
	case a.Window != nil:
		return fmt.Sprintf("set the metrics window to %v", a.Window.Duration)
	case a.Pick != "":
		return fmt.Sprintf("point at %s", a.Pick)
	case a.Answer != "":
		return fmt.Sprintf("answer %s", a.Answer)
	case a.Upload != "":
		return fmt.Sprintf("upload %s as %s", a.Upload, a.As)
	case a.Build != "" && a.Template != "":
		return fmt.Sprintf("build the template %s as upload:%s in the operator editor", a.Template, a.Build)
	case a.Build != "":
		return fmt.Sprintf("build upload:%s in the operator editor", a.Build)
	case a.Continue:
		return "press Continue"
	case a.Open != "":
		return fmt.Sprintf("open the %s of %s", viewWords[a.Open], a.Task)
	case a.Checkpoint != nil:
		return a.Checkpoint.String()
	case a.BufferDebloat != nil:
		return a.BufferDebloat.String()
	case a.Restart:
		return "restart the job"
	}
	return "nothing"
}

// check reports what is wrong with an action for the lesson's job.
func (a Action) check(s *spec.Job) error {
	switch {
	case a.As != "" && a.Upload == "":
		return errors.New("as names an upload: it goes with upload")
	case (a.Source != "" || a.Template != "") && a.Build == "":
		return errors.New("source and template are what build builds: they go with build: NAME")
	}
	set := 0
	for _, b := range []bool{a.Rate != nil, a.Cost != nil, a.Parallelism != 0, a.Config != nil, a.Operator != "",
		a.Paused != nil, a.Window != nil, a.Pick != "", a.Answer != "", a.Upload != "", a.Build != "", a.Continue, a.Open != "",
		a.Checkpoint != nil, a.BufferDebloat != nil, a.Restart} {
		if b {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("an action does exactly one thing, this one does %d", set)
	}
	needsTask := a.Rate != nil || a.Cost != nil || a.Parallelism != 0 || a.Config != nil || a.Operator != ""
	switch {
	case needsTask && s.TaskIndex(a.Task) < 0:
		return fmt.Errorf("no task %q in the lesson's job", a.Task)
	case a.Pick != "" && s.TaskIndex(a.Pick) < 0:
		return fmt.Errorf("no task %q to pick in the lesson's job", a.Pick)
	case a.Upload != "" && a.As == "":
		return errors.New("an upload needs a name: as")
	case a.Build != "" && !operatorName.MatchString(a.Build):
		return fmt.Errorf("cannot build %q: name the operator with 1 to 64 letters, digits, - or _, starting with a letter or digit (no upload: prefix)", a.Build)
	case a.Build != "" && (a.Source == "") == (a.Template == ""):
		return fmt.Errorf("build %s needs one of source (the Go source) or template (one of %s)", a.Build, strings.Join(wasmops.TemplateNames(), ", "))
	case a.Template != "":
		if _, err := wasmops.Template(a.Template); err != nil {
			return fmt.Errorf("build %s: %w", a.Build, err)
		}
	case a.Open != "" && !slices.Contains(Views, a.Open):
		return fmt.Errorf("cannot open %q: want one of %s", a.Open, strings.Join(Views, ", "))
	case a.Open != "" && s.TaskIndex(a.Task) < 0:
		return fmt.Errorf("no task %q to open the %s of in the lesson's job", a.Task, viewWords[a.Open])
	case a.Checkpoint != nil:
		// As if on the lesson's job as it starts: a change that turns
		// checkpoints on again after another turned them off is checked
		// when it is applied.
		_, err := a.Checkpoint.spec(s.Checkpoint)
		return err
	case a.BufferDebloat != nil:
		_, err := a.BufferDebloat.spec()
		return err
	}
	return nil
}

// Apply does the action on a running lesson.
func (a Action) Apply(ctx context.Context, env Env, j Job, l *Learner) error {
	switch {
	case a.Rate != nil:
		return j.SetRate(a.Task, *a.Rate)
	case a.Cost != nil:
		return j.SetCost(a.Task, a.Cost.Duration)
	case a.Parallelism > 0:
		return j.SetParallelism(a.Task, a.Parallelism)
	case a.Config != nil:
		for k, v := range a.Config {
			if err := j.SetConfig(a.Task, k, v); err != nil {
				return err
			}
		}
	case a.Operator != "":
		return j.SetOperator(a.Task, a.Operator)
	case a.Paused != nil:
		j.SetPaused(*a.Paused)
	case a.Window != nil:
		return j.SetWindow(a.Window.Duration)
	case a.Pick != "":
		l.Picked = a.Pick
	case a.Answer != "":
		l.Answer = a.Answer
	case a.Upload != "":
		if err := env.Upload(ctx, a.As, a.Upload); err != nil {
			return err
		}
		l.uploaded(a.As)
	case a.Build != "":
		src := []byte(a.Source)
		if a.Template != "" {
			var err error
			if src, err = wasmops.Template(a.Template); err != nil {
				return err
			}
		}
		if err := env.Build(ctx, a.Build, src); err != nil {
			return err
		}
		l.uploaded(a.Build)
	case a.Continue:
		l.Continued = true
	case a.Open != "":
		l.opened(a.Task, a.Open)
	case a.Checkpoint != nil:
		c, err := a.Checkpoint.spec(j.Spec().Checkpoint)
		if err != nil {
			return err
		}
		return j.SetCheckpointing(c)
	case a.BufferDebloat != nil:
		d, err := a.BufferDebloat.spec()
		if err != nil {
			return err
		}
		return j.SetBufferDebloat(d)
	case a.Restart:
		j.Restart()
	}
	return nil
}

// opened notes a view the learner opened for a task, once.
func (l *Learner) opened(task, view string) {
	if key := task + "/" + view; !slices.Contains(l.Opened, key) {
		l.Opened = append(l.Opened, key)
	}
}

// uploaded counts an operator the learner uploaded or built, once.
func (l *Learner) uploaded(name string) {
	if !slices.Contains(l.Uploaded, name) {
		l.Uploaded = append(l.Uploaded, name)
	}
}
