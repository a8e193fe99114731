package lessons

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"flowlab/wasmops"
)

const buildLesson = `
id: 0-build
title: Build
job: |
  tasks: [{name: source, operator: generator}, {name: work, operator: passthrough}, {name: sink, operator: discard}]
steps:
  - title: Write
    text: Text.
    goal: {when: ["uploaded"], for: 0s}
    solution:
      - build: mine
        source: |
          package main

          func main() {}
  - title: Again
    text: Text.
    goal: {when: ["work.operator == upload:*"], for: 0s}
    solution:
      - {build: mine, template: map}
      - {task: work, operator: "upload:mine"}
`

func TestParse_Build(t *testing.T) {
	l, err := Parse([]byte(buildLesson))
	require.NoError(t, err)
	a := l.Steps[0].Solution[0]
	assert.Equal(t, "mine", a.Build)
	assert.Equal(t, "package main\n\nfunc main() {}\n", a.Source)
	assert.Empty(t, a.Template)
	assert.Equal(t, "build upload:mine in the operator editor", a.String())
	b := l.Steps[1].Solution[0]
	assert.Equal(t, Action{Build: "mine", Template: "map"}, b)
	assert.Equal(t, "build the template map as upload:mine in the operator editor", b.String())
}

func TestParse_Build_Errors(t *testing.T) {
	_, err := Parse([]byte(`
id: 0-bad
title: Bad
job: |
  tasks: [{name: source, operator: generator}, {name: sink, operator: discard}]
steps:
  - title: One
    text: Text.
    goal: {when: ["uploaded"]}
    solution:
      - {build: mine}
      - {build: mine, template: map, source: "package main"}
      - {build: mine, template: nope}
      - {build: "upload:mine", template: map}
      - {source: "package main"}
      - {template: map}
      - {build: mine, template: map, upload: "wasm:spin", as: mine}
      - {build: mine, template: map, as: yours}
      - {task: sink, operator: passthrough, template: map}
`))
	templates := "(one of filter, flatmap, keyed-count, map, process-batch, sliding-window, timers)"
	assert.EqualError(t, err, `steps[0].solution[0]: build mine needs one of source (the Go source) or template `+templates+`
steps[0].solution[1]: build mine needs one of source (the Go source) or template `+templates+`
steps[0].solution[2]: build mine: no template "nope" (templates: filter, flatmap, keyed-count, map, process-batch, sliding-window, timers)
steps[0].solution[3]: cannot build "upload:mine": name the operator with 1 to 64 letters, digits, - or _, starting with a letter or digit (no upload: prefix)
steps[0].solution[4]: source and template are what build builds: they go with build: NAME
steps[0].solution[5]: source and template are what build builds: they go with build: NAME
steps[0].solution[6]: an action does exactly one thing, this one does 2
steps[0].solution[7]: as names an upload: it goes with upload
steps[0].solution[8]: source and template are what build builds: they go with build: NAME`)
}

// buildEnv records the builds of a solution.
type buildEnv struct {
	fakeEnv
	built map[string]string
}

func (e *buildEnv) Build(_ context.Context, name string, source []byte) error {
	e.built[name] = string(source)
	return nil
}

func TestAction_Apply_Build(t *testing.T) {
	l, err := Parse([]byte(buildLesson))
	require.NoError(t, err)
	env := &buildEnv{built: map[string]string{}}
	var learner Learner
	require.NoError(t, l.Steps[0].Solution[0].Apply(context.Background(), env, nil, &learner))
	assert.Equal(t, map[string]string{"mine": "package main\n\nfunc main() {}\n"}, env.built)
	assert.Equal(t, []string{"mine"}, learner.Uploaded, "a build counts as an upload")

	require.NoError(t, l.Steps[1].Solution[0].Apply(context.Background(), env, nil, &learner))
	want, err := wasmops.Template("map")
	require.NoError(t, err)
	assert.Equal(t, string(want), env.built["mine"], "the template's source is built")
	assert.Equal(t, []string{"mine"}, learner.Uploaded, "a rebuild under the same name counts once")
}

// A lesson that builds an operator from source shows that source to the
// learner first, in the text of the step or of one before.
func TestAll_BuiltSourceInText(t *testing.T) {
	all, err := All()
	require.NoError(t, err)
	for _, l := range all {
		seen := map[string]bool{}
		for i, st := range l.Steps {
			for _, a := range st.Solution {
				if a.Source == "" || seen[a.Build] {
					continue
				}
				seen[a.Build] = true
				shown := slices.ContainsFunc(l.Steps[:i+1], func(s *Step) bool { return strings.Contains(s.Text, a.Source) })
				assert.True(t, shown, "%s step %d: the text does not show the source that the solution builds as %s", l.ID, i+1, a.Build)
			}
		}
	}
}
