// Package lessons holds Flowlab's guided lessons as data, one folder each
// with a lesson.yaml, and the engine that follows a learner through them:
// it checks each step's goal against live metrics, sustained for a while so
// that a lucky moment does not count, and verifies every lesson headless
// with its reference solution.
package lessons

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"flowlab/runtime/spec"
)

//go:embed */lesson.yaml
var files embed.FS

// defaultHold is how long a goal must hold unless the step says otherwise.
const defaultHold = 3 * time.Second

// Lesson is one guided lesson: a job to start and steps to walk through.
type Lesson struct {
	ID      string   `yaml:"id" json:"id"`
	Title   string   `yaml:"title" json:"title"`
	Level   string   `yaml:"level" json:"level"`     // beginner, intermediate or advanced
	Summary string   `yaml:"summary" json:"summary"` // one sentence for the lesson list
	Job     string   `yaml:"job" json:"job"`         // the job spec, YAML
	Steps   []*Step  `yaml:"steps" json:"steps"`
	Learned []string `yaml:"learned" json:"learned"` // shown when the lesson is done

	spec *spec.Job
}

// Step is one page of a lesson: text, what to do, and the goal that ends it.
//
// A step ends only when the learner has done what it asks, never on a timer
// alone: it answers a question, points at a task (Pick), changes the job in
// a way its goal checks, or, in a step that asks them to look at something,
// presses Continue once the goal has been reached (Continue). So every step
// has a solution, and Verify checks that the goal is not reached without it.
type Step struct {
	Title    string    `yaml:"title" json:"title"`
	Text     string    `yaml:"text" json:"text"` // Markdown
	Question *Question `yaml:"question" json:"question,omitempty"`
	Pick     bool      `yaml:"pick" json:"pick,omitempty"`         // the learner answers by clicking a task
	Continue bool      `yaml:"continue" json:"continue,omitempty"` // the learner moves on with Continue once the goal is reached
	Goal     Goal      `yaml:"goal" json:"goal"`
	Hints    []string  `yaml:"hints" json:"hints"`
	Solution []Action  `yaml:"solution" json:"solution"` // what a learner does to reach the goal and move on
}

// Question is a multiple-choice question; the goal says which answer is right.
type Question struct {
	Prompt  string   `yaml:"prompt" json:"prompt"`
	Choices []Choice `yaml:"choices" json:"choices"`
}

// Choice is one answer to a question.
type Choice struct {
	ID   string `yaml:"id" json:"id"`
	Text string `yaml:"text" json:"text"`
}

// Goal is what ends a step: every condition holding for a while.
type Goal struct {
	When []string  `yaml:"when" json:"when"`
	For  *Duration `yaml:"for" json:"for,omitempty"` // default 3s; 0s for a moment
	// Say, if set, is the goal as the learner reads it, instead of its
	// conditions, which are then neither listed nor drawn on the graph: for
	// a goal whose conditions would answer a question of the lesson.
	Say string `yaml:"say" json:"say,omitempty"`

	conds []condition
}

// Hold is how long the conditions must hold together.
func (g *Goal) Hold() time.Duration {
	if g.For == nil {
		return defaultHold
	}
	return g.For.Duration
}

// Duration is a time.Duration written as "3s" in YAML and JSON.
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: want a duration like 3s, got %q", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Spec is the lesson's job spec.
func (l *Lesson) Spec() *spec.Job { return l.spec }

// All loads every lesson, ordered by id.
func All() ([]*Lesson, error) { return Load(files) }

// Load reads every DIR/lesson.yaml in fsys and checks it: its job spec, its
// goals' conditions and its solutions' actions must all make sense.
func Load(fsys fs.FS) ([]*Lesson, error) {
	paths, err := fs.Glob(fsys, "*/lesson.yaml")
	if err != nil {
		return nil, err
	}
	var lessons []*Lesson
	var errs []error
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		l, err := Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if l.ID != path.Dir(p) {
			errs = append(errs, fmt.Errorf("%s: id %q must be the folder's name", p, l.ID))
		}
		lessons = append(lessons, l)
	}
	slices.SortFunc(lessons, func(a, b *Lesson) int { return compareIDs(a.ID, b.ID) })
	return lessons, errors.Join(errs...)
}

// compareIDs orders "2-colors" before "10-x" by the leading number.
func compareIDs(a, b string) int {
	if na, nb := leadingNumber(a), leadingNumber(b); na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

// leadingNumber is the number an id starts with, 0 if none.
func leadingNumber(id string) int {
	var n int
	fmt.Sscanf(id, "%d", &n)
	return n
}

// Parse reads and checks one lesson.
func Parse(data []byte) (*Lesson, error) {
	var l Lesson
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	var errs []error
	if l.ID == "" || l.Title == "" || len(l.Steps) == 0 {
		errs = append(errs, errors.New("a lesson needs an id, a title and steps"))
	}
	s, err := spec.Parse([]byte(l.Job))
	if err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	l.spec = s
	tasks := make([]string, len(s.Tasks))
	for i, t := range s.Tasks {
		tasks[i] = t.Name
	}
	for i, st := range l.Steps {
		where := fmt.Sprintf("steps[%d]", i)
		if st.Title == "" || st.Text == "" {
			errs = append(errs, fmt.Errorf("%s: a step needs a title and a text", where))
		}
		if len(st.Goal.When) == 0 {
			errs = append(errs, fmt.Errorf("%s: a step needs a goal", where))
		}
		for _, w := range st.Goal.When {
			c, err := parseCondition(w, tasks)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.goal: %w", where, err))
				continue
			}
			st.Goal.conds = append(st.Goal.conds, c)
		}
		for k, a := range st.Solution {
			if err := a.check(s); err != nil {
				errs = append(errs, fmt.Errorf("%s.solution[%d]: %w", where, k, err))
			}
		}
		if err := st.checkActs(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return &l, errors.Join(errs...)
}

// checkActs reports a step that could end without the learner: one with no
// solution, or whose solution and Continue disagree.
func (st *Step) checkActs() error {
	continues := slices.ContainsFunc(st.Solution, func(a Action) bool { return a.Continue })
	last := len(st.Solution) > 0 && st.Solution[len(st.Solution)-1].Continue
	switch {
	case len(st.Solution) == 0:
		return errors.New("a step needs a solution: what the learner does to end it (continue: true for a step that asks them to look)")
	case st.Continue && !last:
		return errors.New("a step with continue: true ends its solution with {continue: true}")
	case !st.Continue && continues:
		return errors.New("{continue: true} in the solution of a step without continue: true")
	}
	return nil
}
