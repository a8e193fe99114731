package handlers

import (
	"slices"
	"time"

	"flowlab/lessons"
	"flowlab/ui/attach"
)

// The default memory limits of a job and of a session (WithMemoryLimits).
const (
	DefaultJobMemory     = 2 << 30
	DefaultSessionMemory = 4 << 30
)

// Config is the playground's limits and lessons. It is immutable: each WithX
// returns a copy.
type Config struct {
	jobsPerSession    int
	jobs              int
	subtasks          int
	uploadSize        int64
	uploadsPerSession int
	uploadRate        rate
	startRate         rate
	sessionRate       rate
	idleJob           time.Duration
	idleLesson        time.Duration
	idleSession       time.Duration
	sessions          int
	memJob            int64
	memSession        int64
	memServer         int64
	defaultExample    string
	history           time.Duration
	lessons           []*lessons.Lesson
	builder           Builder
	cluster           *attach.Cluster
	clusters          int
}

// NewConfig returns the default limits: 3 running jobs per session, 50
// running jobs and 400 running subtasks in all, uploads up to 32 MiB and 20
// per session (and 20 uploads at once, then 1 a minute), 10 job starts per
// client address at once, then 1 every 6 seconds, 20 new sessions per
// client address at once, then 1 a second, memory of 2 GiB per job, 4 GiB
// per session and 4 GiB in all, a job nobody watched or changed for 10
// minutes is canceled, a lesson's job no page watched for 5 minutes is
// paused, a session unseen for 2 hours without running jobs is forgotten, at most 10000 sessions, the example "slow-sink" offered to a
// session without a running job, 5 minutes of history per job, at most 4
// Flink clusters followed by sessions, and no lessons.
func NewConfig() Config {
	return Config{
		jobsPerSession:    3,
		jobs:              50,
		subtasks:          400,
		uploadSize:        32 << 20,
		uploadsPerSession: 20,
		uploadRate:        rate{20, time.Minute},
		startRate:         rate{10, 6 * time.Second},
		sessionRate:       rate{20, time.Second},
		idleJob:           10 * time.Minute,
		idleLesson:        5 * time.Minute,
		idleSession:       2 * time.Hour,
		sessions:          10000,
		memJob:            DefaultJobMemory,
		memSession:        DefaultSessionMemory,
		memServer:         4 << 30, // flowlab serve: half the machine's memory
		defaultExample:    "slow-sink",
		history:           5 * time.Minute,
		clusters:          4,
	}
}

// WithJobLimits sets how many jobs may run per session and in all, and how
// many subtasks all running jobs may have together. Defaults 3, 50, 400.
func (c Config) WithJobLimits(perSession, total, subtasks int) Config {
	c.jobsPerSession, c.jobs, c.subtasks = max(perSession, 1), max(total, 1), max(subtasks, 1)
	return c
}

// WithUploadLimits sets the largest upload in bytes (larger ones are
// answered 413) and how many operators a session may upload. Defaults 32
// MiB and 20.
func (c Config) WithUploadLimits(size int64, perSession int) Config {
	c.uploadSize, c.uploadsPerSession = max(size, 1), max(perSession, 1)
	return c
}

// WithUploadRate sets how many uploads a session may make at once (new
// ones and replacements alike) and how often one more, past the number of
// uploads it may hold (WithUploadLimits). Default 20, then 1 a minute.
func (c Config) WithUploadRate(burst int, every time.Duration) Config {
	c.uploadRate = rate{max(burst, 1), max(every, time.Millisecond)}
	return c
}

// WithStartRate sets how many jobs a client (an IP address, an IPv6 /64)
// may start at once, in any session and lessons included, and how often one
// more. Default 10, then 1 every 6 seconds.
func (c Config) WithStartRate(burst int, every time.Duration) Config {
	c.startRate = rate{max(burst, 1), max(every, time.Millisecond)}
	return c
}

// WithSessionRate sets how many sessions a client (an IP address, an IPv6
// /64) may start at once, and how often one more. Default 20, then 1 a
// second.
func (c Config) WithSessionRate(burst int, every time.Duration) Config {
	c.sessionRate = rate{max(burst, 1), max(every, time.Millisecond)}
	return c
}

// WithIdle sets when a running job that nobody watches or changes is
// canceled, and when a session without running jobs is forgotten with its
// uploads. Defaults 10 minutes and 2 hours.
func (c Config) WithIdle(job, session time.Duration) Config {
	c.idleJob, c.idleSession = max(job, time.Second), max(session, time.Second)
	return c
}

// WithLessonIdle sets when a lesson's job that no page watches is paused,
// until a page watches it again; such a job is canceled only after the idle
// time of a session (WithIdle), or when another job needs its place.
// Default 5 minutes.
func (c Config) WithLessonIdle(d time.Duration) Config {
	c.idleLesson = max(d, time.Second)
	return c
}

// WithMemoryLimits sets how many bytes of memory a job may reserve, all the
// running jobs of a session together, and all running jobs of the server
// together (see runtime.Budget). Defaults 2 GiB, 4 GiB and 4 GiB (`flowlab
// serve` sets the server's from its -memory flag: half the machine's memory).
func (c Config) WithMemoryLimits(job, session, server int64) Config {
	c.memJob, c.memSession, c.memServer = max(job, 1), max(session, 1), max(server, 1)
	return c
}

// WithMaxSessions sets how many sessions the server keeps. Past it, a new
// session takes the place of the empty session (no jobs, uploads or
// lessons) seen least recently; if there is none, new sessions are refused
// with 503 until the reaper forgets one (WithIdle). Default 10000.
func (c Config) WithMaxSessions(n int) Config {
	c.sessions = max(n, 1)
	return c
}

// WithDefaultExample sets the example (examples/NAME.yaml) the playground
// page starts, through its script, when the session runs no job; "" starts
// none. Default "slow-sink".
func (c Config) WithDefaultExample(name string) Config {
	c.defaultExample = name
	return c
}

// WithHistory sets how much history of each task's busy and backpressured
// percentages a job keeps for the timeline. Default 5 minutes.
func (c Config) WithHistory(d time.Duration) Config {
	c.history = max(d, time.Second)
	return c
}

// WithLessons sets the guided lessons the playground offers, in their
// order. Default none.
func (c Config) WithLessons(list []*lessons.Lesson) Config {
	c.lessons = slices.Clone(list)
	return c
}

// WithBuilder sets what builds operators from Go source for the page
// /operators/new (POST /api/operators/build). Default none: the build
// answers 503 and the page points to the upload.
func (c Config) WithBuilder(b Builder) Config {
	c.builder = b
	return c
}

// WithCluster has every visitor see the jobs of a Flink cluster (flowlab
// attach), read-only, beside their own. The server polls it until it is
// closed. Default none.
func (c Config) WithCluster(cl *attach.Cluster) Config {
	c.cluster = cl
	return c
}

// WithClusters sets how many Flink clusters the sessions may follow
// together (each session one, through "Watch a Flink cluster"); 0 turns
// the form off. Default 4.
func (c Config) WithClusters(n int) Config {
	c.clusters = max(n, 0)
	return c
}
