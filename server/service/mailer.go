package service

import (
	"context"
	"log/slog"
	"sync"

	"gatehouse/server/mail"
)

// Mailer sends account emails in the background, so that an answer never
// waits for SMTP and never takes longer because an email was due (which
// would tell whether an address has an account).
type Mailer struct {
	settings *Settings
	log      *slog.Logger
	queue    chan mail.Message
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

func newMailer(settings *Settings, log *slog.Logger) *Mailer {
	m := &Mailer{settings: settings, log: log, queue: make(chan mail.Message, 256), stop: make(chan struct{})}
	m.wg.Add(1)
	go m.run()
	return m
}

// Enqueue schedules msg; when the queue is full the message is dropped and
// logged rather than blocking a request.
func (m *Mailer) Enqueue(msg mail.Message) {
	select {
	case m.queue <- msg:
	default:
		m.log.Error("mail queue full; message dropped", "subject", msg.Subject)
	}
}

func (m *Mailer) run() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case msg := <-m.queue:
			ctx := context.Background()
			cfg, err := m.settings.smtpConfig(ctx)
			if err == nil {
				err = mail.Send(ctx, cfg, msg)
			}
			if err != nil {
				m.log.Error("sending email failed", "subject", msg.Subject, "err", err)
			}
		}
	}
}

// Close stops the worker after the message in flight.
func (m *Mailer) Close() {
	m.once.Do(func() { close(m.stop) })
	m.wg.Wait()
}
