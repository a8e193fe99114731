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
	Reached                  bool // the current step's goal has been reached
}

// StepView is one step of a lesson.
type StepView struct {
	Title    string
	Text     string // Markdown
	Question *QuestionView
	Pick     bool
	Continue bool // the learner moves on with Continue once the goal is reached
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
// the progress), Text in words. When is "" for a goal that says what it is:
// the check then stands for every condition.
type CheckView struct{ When, Text string }

// TargetView is what a goal asks of a task, drawn on the graph in the
// colors the task would have, in a label of GoalSize(Text) below the task.
type TargetView struct{ Task, Fill, Border, Text string }
