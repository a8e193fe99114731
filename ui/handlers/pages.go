package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/a-h/templ"

	"flowlab/examples"
	"flowlab/lessons"
	"flowlab/runtime/metrics"
	"flowlab/runtime/spec"
	"flowlab/ui/components"
	"flowlab/ui/hub"
	"flowlab/ui/layout"
)

// Sizes of the graph drawing: roomy on the playground, compact beside a
// lesson, so that a chain of four tasks keeps readable text at 1440 pixels.
var (
	graphOptions       = layout.Options{NodeW: 240, NodeH: 150, GapX: 110, GapY: 36, DummyH: 24, Margin: 24, LabelPad: 8}
	lessonGraphOptions = layout.Options{NodeW: 212, NodeH: 150, GapX: 76, GapY: 36, DummyH: 24, Margin: 8, LabelPad: 8}
)

func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = c.Render(r.Context(), w) // the client went away
}

// playgroundPage is GET /: the job ?job=JID, else the session's newest
// running job, else a page whose script starts the default example (POST
// /api/jobs) and comes back to it with ?job=JID. A GET starts nothing: a
// link or an image on another site must not start jobs in a visitor's name.
func (s *Server) playgroundPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.PlaygroundPage{}
	var j *job
	if jid := r.URL.Query().Get("job"); jid != "" {
		if j = s.visibleJob(r, jid); j == nil {
			page.Nav = s.nav(sess, "playground", "")
			page.Notice = "There is no such job in this browser session."
			render(w, r, http.StatusNotFound, components.Playground(page, nil))
			return
		}
	}
	if j == nil {
		j = s.newestRunning(sess)
	}
	if j == nil {
		j = s.newestAttached(sess)
	}
	if ex, ok := examples.Get(s.cfg.defaultExample); j == nil && ok {
		page.Start = &components.StartView{
			Title: "Starting the example job " + ex.Name + "…", URL: "/api/jobs", Spec: ex.YAML, Then: "/?job=",
		}
	}
	if j != nil {
		s.touch(j)
		v := s.jobView(sess, j, graphOptions, nil)
		page.Job = &v
		page.Diagnosis = j.feed.Diagnosis()
		page.Nav = s.nav(sess, "playground", j.id)
	} else {
		page.Nav = s.nav(sess, "playground", "")
	}
	render(w, r, http.StatusOK, components.Playground(page, nil))
}

func (s *Server) touch(j *job) {
	s.mu.Lock()
	j.touched = time.Now()
	s.mu.Unlock()
}

func (s *Server) newestRunning(sess *session) *job {
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range slices.Backward(sess.jobs) {
		if j.running {
			return j
		}
	}
	return nil
}

// newestAttached is the newest running job of the clusters a session sees,
// else their newest job; nil if there is none.
func (s *Server) newestAttached(sess *session) *job {
	s.mu.Lock()
	jobs := s.clusterJobsLocked(sess)
	s.mu.Unlock()
	for _, j := range jobs {
		if !metrics.Terminal(j.rt.Snapshot().State) {
			return j
		}
	}
	if len(jobs) > 0 {
		return jobs[0]
	}
	return nil
}

// nav lists the session's jobs and those of the clusters it sees, newest
// first, for the sidebar.
func (s *Server) nav(sess *session, active, jid string) components.Nav {
	nav := components.Nav{Active: active, JobID: jid}
	s.mu.Lock()
	var jobs []*job
	if sess != nil {
		jobs = slices.Clone(sess.jobs)
	}
	attached := s.clusterJobsLocked(sess)
	s.mu.Unlock()
	slices.Reverse(jobs)
	nav.Jobs, nav.Cluster = jobLinks(jobs), jobLinks(attached)
	return nav
}

// jobLinks are jobs as the sidebar and the attach page list them.
func jobLinks(jobs []*job) []components.JobLink {
	var links []components.JobLink
	for _, j := range jobs {
		snap := j.rt.Snapshot()
		links = append(links, components.JobLink{ID: j.id, Name: snap.Name, State: snap.State})
	}
	return links
}

// defaultCheckpointInterval is the interval the page's checkpoint control
// offers a job without checkpoints.
const defaultCheckpointInterval = 5 * time.Second

// jobView is a job's latest snapshot as the playground draws it, with the
// operators its tasks may run instead; feet are the boxes to make room for
// below tasks, by name (a lesson's goal labels).
func (s *Server) jobView(sess *session, j *job, o layout.Options, feet map[string]layout.Size) components.JobView {
	snap, sp := j.rt.Snapshot(), j.rt.Spec()
	v := components.JobView{
		ID: j.id, Name: snap.Name, State: snap.State, Failure: snap.Failure, Paused: snap.Paused,
		WindowMs: snap.WindowMs, TickMs: j.tickMs, Graph: graphView(snap, sp, o, feet),
	}
	v.Debloat = "off"
	if d := sp.Network.BufferDebloat; d != nil {
		v.Debloat = d.Target.String()
	}
	v.Checkpoint, v.CheckpointInterval = "off", defaultCheckpointInterval.String()
	if c := sp.Checkpoint; c != nil {
		v.Checkpoint, v.CheckpointInterval = c.Mode, c.Interval.String()
	}
	if j.cluster != nil {
		st := j.cluster.c.Status()
		v.Cluster = &components.ClusterView{URL: st.URL, Version: st.Version, Interval: st.Interval.String()}
		return v
	}
	for _, op := range s.operators(sess) {
		v.Operators = append(v.Operators, components.Operator{Name: op.Name, Kind: op.Kind})
	}
	return v
}

// graphView lays out a snapshot's graph, with room for each edge's label
// and the feet of tasks (by name); sp is the job's spec, for the config of
// each task.
func graphView(snap *metrics.Job, sp *spec.Job, o layout.Options, feet map[string]layout.Size) components.GraphView {
	index := map[string]int{}
	for i, v := range snap.Vertices {
		index[v.ID] = i
	}
	edges := make([]layout.Edge, 0, len(snap.Edges))
	for _, e := range snap.Edges {
		edges = append(edges, layout.Edge{From: index[e.Source], To: index[e.Target], LabelW: edgeLabelRoom(e)})
	}
	if len(feet) > 0 {
		o.Feet = make([]layout.Size, len(snap.Vertices))
		for i, v := range snap.Vertices {
			o.Feet[i] = feet[v.Name]
		}
	}
	sinks := make(map[string]bool, len(snap.Vertices)) // tasks without outputs, by id
	for _, v := range snap.Vertices {
		sinks[v.ID] = true
	}
	for _, e := range snap.Edges {
		delete(sinks, e.Source)
	}
	g := layout.Layout(len(snap.Vertices), edges, o)
	view := components.GraphView{Width: g.Width, Height: g.Height}
	for i, v := range snap.Vertices {
		n := g.Nodes[i]
		cost, _ := time.ParseDuration(v.Cost)
		view.Nodes = append(view.Nodes, components.NodeView{
			ID: v.ID, Name: v.Name, Operator: v.Operator,
			X: n.X, Y: n.Y, W: o.NodeW, H: o.NodeH,
			Parallelism: v.Parallelism, Busy: float64(v.Busy), BackPressured: float64(v.BackPressure), DataSkew: math.Round(v.DataSkew),
			Fill: v.Colors.Fill, Border: v.Colors.Border, Level: v.Backpressure.Level,
			Cost: v.Cost, CostMicros: cost.Microseconds(), Rate: v.Rate,
			Config: configFields(sp, v.Name, v.Rate != nil),
			Sink:   sinks[v.ID], LatencyP50: math.NaN(), LatencyP99: math.NaN(),
		})
		if l := v.Latency; l != nil {
			view.Nodes[i].LatencyP50, view.Nodes[i].LatencyP99 = l.P50, l.P99
		}
	}
	for i, e := range snap.Edges {
		p := g.Edges[i]
		view.Edges = append(view.Edges, components.EdgeView{
			From: snap.Vertices[index[e.Source]].Name, To: snap.Vertices[index[e.Target]].Name,
			Partitioning: hub.EdgeLabel(e), D: p.D(), LabelX: p.Label.X, LabelY: p.Label.Y,
		})
	}
	return view
}

// edgeLabelRoom is how wide an edge's label may get: a rescale turns a
// forward edge into a rebalance one, and the page is not laid out again.
func edgeLabelRoom(e metrics.Edge) float64 {
	w := components.EdgeLabelWidth(hub.EdgeLabel(e))
	if e.Partitioning == spec.Forward {
		e.Partitioning = spec.Rebalance
		w = max(w, components.EdgeLabelWidth(hub.EdgeLabel(e)))
	}
	return w
}

// goalFeet is the room a lesson's goal labels need below each task: the
// widest and tallest of its steps'.
func goalFeet(l *lessons.Lesson) map[string]layout.Size {
	feet := map[string]layout.Size{}
	for _, st := range l.Steps {
		for _, t := range st.Goal.Targets(l.Spec()) {
			size, f := components.GoalSize(t.Text), feet[t.Task]
			feet[t.Task] = layout.Size{W: max(f.W, size.W), H: max(f.H, size.H+components.GoalMargin)}
		}
	}
	return feet
}

// sourceFields are the config fields of a source the drawer always offers,
// set or not: the generators' key count and key skew.
var sourceFields = []string{"keys", "skew"}

// configFields are the fields of a task's config the drawer offers: a
// source's sourceFields, and every field its config sets but a source's rate
// (which has a slider of its own).
func configFields(sp *spec.Job, task string, source bool) []components.ConfigField {
	i := sp.TaskIndex(task)
	if i < 0 {
		return nil
	}
	config := sp.Tasks[i].Config
	var names []string
	if source {
		names = slices.Clone(sourceFields)
	}
	for _, name := range slices.Sorted(maps.Keys(config)) {
		if !slices.Contains(names, name) && !(source && name == "rate") {
			names = append(names, name)
		}
	}
	fields := make([]components.ConfigField, len(names))
	for k, name := range names {
		v, set := config[name]
		fields[k] = components.ConfigField{Name: name, Value: configText(v), Number: isNumber(v) || !set && source}
	}
	return fields
}

// isNumber says whether a config value is a number, as YAML or JSON gives one.
func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, float64:
		return true
	}
	return false
}

// configText is a config value as its input shows it: strings as they are,
// anything else as JSON, nothing for unset.
func configText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// editorPage is GET /new: the gallery and the editor, with ?example=NAME
// (default: the default example) in it.
func (s *Server) editorPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.EditorPage{Nav: s.nav(sess, "new", "")}
	for _, ex := range examples.All() {
		page.Examples = append(page.Examples, components.Example{Name: ex.Name, Description: ex.Description, YAML: ex.YAML})
	}
	name := r.URL.Query().Get("example")
	if name == "" {
		name = s.cfg.defaultExample
	}
	if ex, ok := examples.Get(name); ok {
		page.YAML = ex.YAML
	}
	if j := s.newestRunning(sess); j != nil {
		page.Replace = j.id
	}
	render(w, r, http.StatusOK, components.Editor(page))
}

// operatorsPage is GET /operators: the library and the upload form.
func (s *Server) operatorsPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.OperatorsPage{Nav: s.nav(sess, "operators", ""), MaxUploadMiB: s.cfg.uploadSize >> 20}
	if l := s.lessonToReturnTo(sess, r); l != nil {
		c := lessonCard(l)
		page.Lesson = &c
	}
	for _, op := range s.operators(sess) {
		o := components.Operator{Name: op.Name, Kind: op.Kind, Size: op.Size}
		if op.Uploaded != 0 {
			o.Uploaded = time.UnixMilli(op.Uploaded).Format("15:04:05")
		}
		page.Operators = append(page.Operators, o)
	}
	render(w, r, http.StatusOK, components.Operators(page))
}

// operatorEditorPage is GET /operators/new: an editor for one Go file that
// builds it into upload:NAME (POST /api/operators/build), then offers to run
// it in a task of the job ?job=JID (else the job of the lesson ?lesson=ID
// that the session runs, else the session's newest running job), the task
// ?task=NAME selected. Run in a lesson's job, Use it returns to the lesson;
// the page links back to the lesson as the Operators page does.
func (s *Server) operatorEditorPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lookup(r)
	page := components.OperatorEditorPage{Nav: s.nav(sess, "operators", ""), MaxSourceKiB: MaxSourceSize >> 10}
	if err := s.buildAvailable(); err != nil {
		page.Unavailable = err.Error()
	}
	for _, t := range s.templates() {
		page.Templates = append(page.Templates, components.OperatorTemplate{Name: t.Name, Source: t.Source})
	}
	lesson := s.lessonToReturnTo(sess, r)
	if lesson != nil {
		c := lessonCard(lesson)
		page.Lesson = &c
	}
	var j *job
	if jid := r.URL.Query().Get("job"); jid != "" {
		j = s.jobOf(sess, jid)
	}
	if j == nil && lesson != nil {
		j = s.lessonJob(sess, lesson.ID)
	}
	if j == nil || !s.isRunning(j) {
		j = s.newestRunning(sess)
	}
	if j != nil {
		snap := j.rt.Snapshot()
		ej := &components.EditorJob{ID: j.id, Name: snap.Name}
		if lesson != nil && s.lessonJob(sess, lesson.ID) == j {
			ej.Lesson = lesson.ID
		}
		for _, v := range snap.Vertices {
			if v.Rate == nil { // a source's operator is its generator
				ej.Tasks = append(ej.Tasks, components.EditorTask{Name: v.Name, Operator: v.Operator})
			}
		}
		if task := r.URL.Query().Get("task"); slices.ContainsFunc(ej.Tasks, func(t components.EditorTask) bool { return t.Name == task }) {
			ej.Task = task
		}
		if len(ej.Tasks) > 0 {
			page.Job = ej
		}
	}
	render(w, r, http.StatusOK, components.OperatorEditor(page))
}

// lessonJob is the job of the session's run of lesson id, nil if none.
func (s *Server) lessonJob(sess *session, id string) *job {
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if run := sess.lessons[id]; run != nil {
		return run.job
	}
	return nil
}

func (s *Server) isRunning(j *job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return j.running
}
