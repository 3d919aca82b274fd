// Package jobs owns the appliance's duties over time, taken from the terms
// of use it implements (DESIGN.md, "Policy"): the notice of new terms of
// use to every mailbox, retention for inactive and deceased accounts, and
// the notification outbox (e-mail and SMS).
//
// # How it runs
//
// A Scheduler wakes each job with robfig/cron (in UTC; a panic is
// recovered and recorded; a run that finds the job still running is
// skipped) and once at Start. Cron only wakes the jobs: what is due is
// data in the store (last logins, dates of death, effective dates, a
// notification's next attempt), so work missed while the server was down
// is done by the first run after the next start. Each job asks the store
// what is due and calls one store operation per item, each one
// transaction, so a job is idempotent and may be killed at any moment: the
// next run does what is left and nothing twice.
//
// The jobs:
//
//   - "terms-notices" (default every 5 minutes): for each published
//     version of the terms whose notice has not reached every active
//     mailbox, deliver the notice letter from the municipality (a public
//     sender) to each mailbox that lacks it (store.DeliverTermsNotice,
//     once-only by a marker and a fixed senderReference).
//   - "retention" (default daily at 03:17 UTC): inactivity warnings and
//     deletions, and the keeping periods after death
//     (store.RetentionDue, store.ApplyRetention), the pruning of
//     senders' events older than store.KeepEvents, and the deletion of
//     pending mailboxes whose activation code expired
//     store.EnrolmentGrace ago (store.DeleteExpiredEnrolments).
//   - "notifications" (default every 30 seconds): send due notifications
//     from the outbox by e-mail and SMS, with retries and backoff, a dead
//     state after the last attempt, SMS only within the sending hours
//     (default 09–20 Europe/Copenhagen), and prune old sent ones. Sending
//     is at least once: a crash between handing a message over and
//     recording it sends it again, with the same idempotency key.
//   - "session-sweep" (default hourly): delete the residents' sessions
//     past their idle time or lifetime (store.SweepSessions), which the
//     store finds through its indexes by expiry. An expired session opens
//     nothing before it is swept; the sweep takes its wrapping of the
//     private key off the disk. It also ends the grants of access to a
//     mailbox whose last day has passed (store.EndExpiredDelegations),
//     deleting the delegates' copies of the letters' keys.
//   - "callbacks" (default every 5 seconds): POST the events waiting in
//     senders' callback outboxes to their URLs, signed, each sender's one
//     at a time in order, through the address guard (internal/netguard),
//     with backoff and giving up (store/callbacks.go, callbacks.go).
//     Delivery is at least once: a crash between the 2xx and recording
//     it sends the event again, with the same cursor.
//   - "release-scheduled" (every minute, on the minute): release the
//     scheduled letters whose notBefore has come into their mailboxes,
//     with receipt, event and notification (store.ReleaseScheduled, one
//     transaction per batch); at Start it catches up what came due while
//     the server was down.
//   - "print-unread" (every minute, on the minute): queue for print the
//     letters sent with print details "unread-after" that are still
//     unread at that time (store.QueueUnread, one transaction per
//     batch); the copy of one read or deleted meanwhile is deleted. A run
//     after a downtime queues what came due meanwhile.
//
// The clock is passed in (Config.Clock, the store's clock), so tests run
// years of policy in milliseconds by moving a fake clock and calling
// RunNow.
package jobs
