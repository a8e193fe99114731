package components

// LessonsPage is the list of lessons. Progress is the browser's own
// (localStorage), so lesson.js fills it in.
type LessonsPage struct {
	Nav     Nav
	Lessons []LessonCard
}

// LessonCard is a lesson in the list.
type LessonCard struct {
	ID, Number, Title, Level, Summary string
	Steps                             int
}

// LessonView is a lesson beside its job's graph, at the learner's step.
type LessonView struct {
	ID, Number, Title, Level string
	Steps                    []StepView
	Learned                  []string
	Next                     *LessonCard // nil after the last lesson
	Current                  int         // the learner's step; len(Steps) when done
	Hints                    int         // hints revealed in the current step
	Met                      map[string]bool
}

// StepView is one step of a lesson.
type StepView struct {
	Title    string
	Text     string // Markdown
	Question *QuestionView
	Pick     bool
	Checks   []CheckView
	Targets  []TargetView
	HoldMs   int64    // how long the goal must hold
	Hints    []string // Markdown
}

// QuestionView is a step's multiple-choice question.
type QuestionView struct {
	Prompt  string
	Choices []ChoiceView
}

// ChoiceView is one answer to a question.
type ChoiceView struct{ ID, Text string }

// CheckView is one condition of a step's goal: When as written (its key in
// the progress), Text in words.
type CheckView struct{ When, Text string }

// TargetView is what a goal asks of a task, drawn on the graph in the
// colors the task would have, in a label of GoalSize(Text) below the task.
type TargetView struct{ Task, Fill, Border, Text string }
