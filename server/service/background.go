package service

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// backgroundJobTimeout bounds one job: a look-up, a token and a queued
// email take milliseconds; a stuck database must not pin a worker.
const backgroundJobTimeout = 30 * time.Second

// Background runs work that must not delay an answer (forgot-password and
// resend-verification look an address up and mail it only after the
// client has its reply, so that known and unknown addresses answer alike).
// Its queue is bounded and its workers few: when the queue is full a job
// is dropped and logged rather than blocking a request. Jobs get a
// context detached from the request, with their own timeout; errors are
// logged.
type Background struct {
	log     *slog.Logger
	queue   chan backgroundJob
	stop    chan struct{}
	workers sync.WaitGroup
	pending sync.WaitGroup
	once    sync.Once
}

type backgroundJob struct {
	name string
	run  func(ctx context.Context) error
}

func newBackground(log *slog.Logger, workers, size int) *Background {
	b := &Background{log: log, queue: make(chan backgroundJob, size), stop: make(chan struct{})}
	for range workers {
		b.workers.Add(1)
		go b.loop()
	}
	return b
}

// answerWait bounds how long a job waits for its request to finish;
// answerGrace is how long it waits after the answer before starting.
const (
	answerWait  = 5 * time.Second
	answerGrace = 10 * time.Millisecond
)

// Go schedules run; it never blocks. ctx only lends its values (request
// ID, logging attributes): its cancellation does not reach the job, but
// marks when it may start: a handler passes a context it cancels once its
// answer is on the wire, so that the work never competes with the answer
// it must not show in (a context that is never done starts at once).
func (b *Background) Go(ctx context.Context, name string, run func(ctx context.Context) error) {
	b.pending.Add(1)
	answered := ctx.Done()
	job := backgroundJob{name: name, run: func(context.Context) error {
		if answered != nil {
			t := time.NewTimer(answerWait)
			select {
			case <-answered:
				// Give the answer's last bytes (and, on one machine, the
				// client reading them) the processor first.
				time.Sleep(answerGrace)
			case <-t.C:
			}
			t.Stop()
		}
		jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundJobTimeout)
		defer cancel()
		return run(jctx)
	}}
	select {
	case b.queue <- job:
	default:
		b.pending.Done()
		b.log.Error("background queue full; job dropped", "job", name)
	}
}

// Wait returns when every scheduled job has finished (tests use it to
// look at what a background job did).
func (b *Background) Wait() { b.pending.Wait() }

func (b *Background) loop() {
	defer b.workers.Done()
	for {
		select {
		case <-b.stop:
			return
		case job := <-b.queue:
			b.do(job)
		}
	}
}

func (b *Background) do(job backgroundJob) {
	defer b.pending.Done()
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("background job panicked", "job", job.name, "panic", r)
		}
	}()
	if err := job.run(context.Background()); err != nil {
		b.log.Error("background job failed", "job", job.name, "err", err)
	}
}

// Close stops the workers after the jobs in flight; queued jobs that have
// not started are dropped.
func (b *Background) Close() {
	b.once.Do(func() { close(b.stop) })
	b.workers.Wait()
	for {
		select {
		case <-b.queue:
			b.pending.Done()
		default:
			return
		}
	}
}
