// Package resident is the resident's face of Postkasse: the server
// rendered pages (no JavaScript) where a resident activates the mailbox
// (activate.go), signs in and out (login.go, logout.go, session.go),
// takes the second step of a sign-in with two-step verification
// (login_code.go), reads the inbox, a letter, its documents and its
// receipt (inbox.go, letter.go, document.go, letter_receipt.go), sorts
// letters into folders (inbox.go, folders.go), saves and renames
// documents of its own (upload.go), searches the mail
// (search.go), deletes letters for good
// after a confirmation (delete_letters.go), accepts the terms of use
// (terms.go), changes the settings (settings.go) and two-step
// verification (totp.go), sees and ends its sessions (sessions.go),
// sees the senders who wrote and blocks a private
// one (senders.go), sees what will be deleted when and why (retention.go),
// deletes the mailbox (delete_mailbox.go), is shown a renewed recovery
// key (recovery_key.go), gives others access to the mailbox and accepts
// access to theirs (access.go), and reads a mailbox it has access to
// (delegated.go). One file per handler;
// the forms only parse (form_*.go); the rules are package store's.
//
// Every page that opens the mailbox goes through withMailbox
// (mailbox.go), which opens the session named by the cookie for the
// length of the request and sends a resident with terms to accept to
// /terms. Password checks (sign-in, deleting the mailbox, activation) run
// under package guard's throttle and slots (password_check.go). Pages are
// rendered by package web's Pages, in the language of the request, from
// the templates named by the page constants here; URLs come from the
// names of the routes Register adds.
//
// The tests of the pages run against the whole appliance (package
// internal/apptest) over real HTTP and TLS; format_test.go and
// pages_test.go test the formatting helpers and the templates without a
// server.
package resident

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/medama-io/go-useragent"

	"github.com/postkasse/postkasse/httpui/eid"
	"github.com/postkasse/postkasse/httpui/guard"
	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// Config is what the resident pages need; httpui.New builds it.
type Config struct {
	Store *store.Store
	Clock func() time.Time // due dates, the date of a deletion
	// Location is the appliance's time zone, of the dates on pages.
	Location *time.Location
	Web      *web.Kit
	// Passwords runs password checks under the login throttle, a bounded
	// number at once.
	Passwords *guard.PasswordChecks
	// Pages renders the pages (web.NewPages with Pages and FormPage).
	Pages *web.Pages
	// EID, when set, signs residents in with eID (eid.go); nil offers
	// no eID, and its routes answer 404.
	EID *eid.Client
	// EIDCallbackURL is the redirect URL registered at the eID provider
	// (https://DOMAIN/eid/callback); "" is the request's own origin's.
	EIDCallbackURL string
}

// Handlers are the resident pages' handlers.
type Handlers struct {
	store     *store.Store
	clock     func() time.Time
	loc       *time.Location
	web       *web.Kit
	passwords *guard.PasswordChecks
	pages     *web.Pages
	// agents parses User-Agent headers for the sessions page; built once
	// (it builds its trie of browsers).
	agents *useragent.Parser
	// eid and eidCallbackFixed: Config.EID and Config.EIDCallbackURL.
	eid              *eid.Client
	eidCallbackFixed string
}

// New returns the handlers; Register mounts them.
func New(cfg Config) *Handlers {
	loc := cfg.Location
	if loc == nil {
		loc = time.Local
	}
	return &Handlers{store: cfg.Store, clock: cfg.Clock, loc: loc, web: cfg.Web, passwords: cfg.Passwords, pages: cfg.Pages,
		agents: useragent.NewParser(), eid: cfg.EID, eidCallbackFixed: cfg.EIDCallbackURL}
}

// The pages the handlers render, by the name of their template
// (templates/<name>.html). web.NewPages fails when one is missing
// (Pages), so a missing view fails at start-up, not at request time; the
// layout's navigation compares these keys, never a page's title.
const (
	pageLogin          = "login"
	pageActivate       = "activate"
	pageInbox          = "inbox"
	pageLetter         = "letter"
	pageTerms          = "terms"
	pageSettings       = "settings"
	pageDeleteMailbox  = "delete-mailbox"
	pageMailboxDeleted = "mailbox-deleted"
	pageRecoveryKey    = "recovery-key"
	pagePassword       = "password"
	pageRecover        = "recover"
	pageSupport        = "support"
	pageSenders        = "senders"
	pageRetention      = "retention"
	pageSearch         = "search"
	pageMessages       = "messages"
	// pageRecoveryRequest asks for a new recovery key (the key itself is
	// shown on pageRecoveryKey).
	pageRecoveryRequest = "recovery-request"
	// pageFolders is where the resident makes, renames and deletes
	// folders; each folder's letters are listed on pageInbox.
	pageFolders = "folders"
	// pageDeleteLetters confirms deleting letters for good.
	pageDeleteLetters = "delete-letters"
	// Two-step verification: the sign-in's second step, the settings
	// page, and the backup codes shown once (login_code.go, totp.go).
	pageLoginCode   = "login-code"
	pageTOTP        = "totp"
	pageBackupCodes = "backup-codes"
	// pageExport takes the mail out and brings it in (export.go).
	pageExport   = "export"
	pageSessions = "sessions"
	// Passkeys (passkeys.go): the settings page, and signing in with a
	// passkey alone.
	pagePasskeys     = "passkeys"
	pageLoginPasskey = "login-passkey"
	// pageEID is every step of a sign-in with eID after the provider
	// (eid.go).
	pageEID = "eid"
	// pageReset resets a mailbox with a reset code from the operator
	// (reset.go).
	pageReset = "reset"
	// Access for others (access.go) and the delegate's view of a
	// grantor's mailbox (delegated.go).
	pageAccess          = "access"
	pageDelegated       = "delegated"
	pageDelegatedLetter = "delegated-letter"
	// A signature request answered on the grantor's behalf
	// (delegated_signature.go).
	pageDelegatedSignature = "delegated-signature"
)

// Pages are the pages the handlers render (web.PagesConfig.Required).
var Pages = []string{pageLogin, pageActivate, pageInbox, pageLetter, pageTerms,
	pageSettings, pageDeleteMailbox, pageMailboxDeleted, pageRecoveryKey, pagePassword, pageRecover, pageSupport, pageRecoveryRequest, pageFolders,
	pageSenders, pageRetention, pageDeleteLetters, pageMessages,
	pageLoginCode, pageTOTP, pageBackupCodes, pageExport, pageSearch,
	pageSessions, pagePasskeys, pageLoginPasskey, pageEID, pageReset,
	pageAccess, pageDelegated, pageDelegatedLetter, pageDelegatedSignature}

// Route names. Templates and handlers build URLs from these.
const (
	routeLogin = "login"
	// The forms' submissions have names of their own (the metrics count
	// requests by route name).
	routeLoginSubmit     = "login-submit"
	routeLoginCode       = "login-code"
	routeLoginCodeSubmit = "login-code-submit"
	routeActivateSubmit  = "activate-submit"
	routeActivate        = "activate"
	routeRecover         = "recover"
	routeRecoverSubmit   = "recover-submit"
	routeReset           = "reset"
	routeResetSubmit     = "reset-submit"
	routeLogout          = "logout"
	routeInbox           = "inbox"
	routeLetter          = "letter"
	routeDocument        = "document"
	// Deleting letters (delete_letters.go) and the receipt (letter_receipt.go).
	routeLetterDelete  = "letter-delete"
	routeLettersDelete = "letters-delete"
	routeLetterReceipt = "letter-receipt"
	// Signing in with eID (eid.go).
	routeEIDStart    = "eid-start"
	routeEIDCallback = "eid-callback"
	routeEID         = "eid"
	routeEIDPassword = "eid-password"
	routeEIDCreate   = "eid-create"
	// routeEIDCreatePasskey makes the mailbox with a passkey instead of
	// a password (eid_passkey.go).
	routeEIDCreatePasskey = "eid-create-passkey"
	// routeEIDPasswordPasskey unlocks the mailbox after eID with one of
	// the resident's passkeys instead of the password (eid_passkey.go).
	routeEIDPasswordPasskey = "eid-password-passkey"
	routeEIDReset           = "eid-reset"
)

// Route names of the folders and of what is done to letters there.
const (
	routeFolder        = "folder"
	routeFolders       = "folders"
	routeFolderCreate  = "folder-create"
	routeFolderRename  = "folder-rename"
	routeFolderDelete  = "folder-delete"
	routeLetterActions = "letter-actions"
	routeLetterPaid    = "letter-paid"
	routeLetterSign    = "letter-sign"
	routeLetterDecline = "letter-decline"
	routeLetterSigned  = "letter-signed"
	// An appointment of a structured letter as a calendar file.
	routeLetterAppointment = "letter-appointment"
	routeDue               = "due"
	routeSearch            = "search"
	// The resident's own documents (upload.go): saving them in a
	// folder, renaming one.
	routeUpload         = "upload"
	routeDocumentRename = "document-rename"
	// Replies (reply.go): the reply form's target and a reply's
	// attachments.
	routeLetterReply     = "letter-reply"
	routeMessages        = "messages"
	routeMessageSend     = "message-send"
	routeReplyAttachment = "reply-attachment"
)

// Route names of the resident's terms and settings. The gate of pending
// terms (termsGate) lets only the first four through.
const (
	routeTerms                 = "terms"
	routeTermsAccept           = "terms-accept"
	routeDeleteMailbox         = "delete-mailbox"
	routeDeleteMailboxSubmit   = "delete-mailbox-submit"
	routeSettings              = "settings"
	routeSettingsNotify        = "settings-notifications"
	routeSettingsLanguage      = "settings-language"
	routeSettingsDigital       = "settings-digital"
	routePassword              = "settings-password"
	routePasswordSubmit        = "settings-password-submit"
	routeRecoveryRequest       = "settings-recovery-key"
	routeRecoveryRequestSubmit = "settings-recovery-key-submit"
	routeTOTP                  = "settings-totp"
	routeTOTPOn                = "settings-totp-on"
	routeTOTPOff               = "settings-totp-off"
	routeTOTPBackupCodes       = "settings-totp-backup-codes"
	routePasskeys              = "settings-passkeys"
	routePasskeyAdd            = "settings-passkeys-add"
	routePasskeyRename         = "settings-passkeys-rename"
	routePasskeyRemove         = "settings-passkeys-remove"
	routeLoginPasskeyStep      = "login-code-passkey"
	routeLoginPasskey          = "login-passkey"
	routeLoginPasskeySubmit    = "login-passkey-submit"
	routeSupport               = "support"
	routeSupportSubmit         = "support-submit"
	// The senders who wrote to the resident, and blocking them.
	routeSenders        = "settings-senders"
	routeSendersBlock   = "settings-senders-block"
	routeSendersUnblock = "settings-senders-unblock"
	// What the retention rules will delete, when and why.
	routeRetention         = "settings-retention"
	routeExport            = "settings-export"
	routeExportSubmit      = "settings-export-submit"
	routeImportSubmit      = "settings-import-submit"
	routeSessions          = "settings-sessions"
	routeSessionsEnd       = "settings-sessions-end"
	routeSessionsEndOthers = "settings-sessions-end-others"
)

// Route names of access for others and of the delegate's view of a
// grantor's mailbox.
const (
	routeAccess                   = "access"
	routeAccessGrant              = "access-grant"
	routeAccessAccept             = "access-accept"
	routeAccessEnd                = "access-end"
	routeDelegated                = "delegated"
	routeDelegatedLetter          = "delegated-letter"
	routeDelegatedDocument        = "delegated-document"
	routeDelegatedAct             = "delegated-act"
	routeDelegatedReply           = "delegated-reply"
	routeDelegatedReplyAttachment = "delegated-reply-attachment"
	// delegated_signature.go
	routeDelegatedSignature = "delegated-signature"
	routeDelegatedSign      = "delegated-sign"
	routeDelegatedDecline   = "delegated-decline"
	routeDelegatedSigned    = "delegated-signed"
)

// idPattern matches a store id: 128 bits in lowercase hex.
const idPattern = "[0-9a-f]{32}"

// Register adds the resident pages' routes to r, the appliance's router.
func (s *Handlers) Register(r *mux.Router) {
	r.Handle("/login", http.HandlerFunc(s.loginPage)).Methods(http.MethodGet, http.MethodHead).Name(routeLogin)
	r.Handle("/login", http.HandlerFunc(s.loginSubmit)).Methods(http.MethodPost).Name(routeLoginSubmit)
	// The second step of a sign-in with two-step verification (login_code.go).
	r.Handle("/login/code", http.HandlerFunc(s.loginCodePage)).Methods(http.MethodGet, http.MethodHead).Name(routeLoginCode)
	r.Handle("/login/code", http.HandlerFunc(s.loginCodeSubmit)).Methods(http.MethodPost).Name(routeLoginCodeSubmit)
	r.Handle("/logout", http.HandlerFunc(s.logout)).Methods(http.MethodPost).Name(routeLogout)
	// Activation of a mailbox the operator enrolled (activate.go).
	r.Handle("/activate", http.HandlerFunc(s.activatePage)).Methods(http.MethodGet, http.MethodHead).Name(routeActivate)
	r.Handle("/activate", http.HandlerFunc(s.activateSubmit)).Methods(http.MethodPost).Name(routeActivateSubmit)
	// A forgotten password: signing in with the recovery key (recover.go).
	r.Handle("/recover", http.HandlerFunc(s.recoverPage)).Methods(http.MethodGet, http.MethodHead).Name(routeRecover)
	r.Handle("/recover", http.HandlerFunc(s.recoverSubmit)).Methods(http.MethodPost).Name(routeRecoverSubmit)
	r.Handle("/reset", http.HandlerFunc(s.resetPage)).Methods(http.MethodGet, http.MethodHead).Name(routeReset)
	r.Handle("/reset", http.HandlerFunc(s.resetSubmit)).Methods(http.MethodPost).Name(routeResetSubmit)
	// Signing in with eID (eid.go), when the appliance has a provider.
	eidRoute := func(h http.HandlerFunc) http.Handler {
		if s.eid == nil {
			return http.NotFoundHandler()
		}
		return h
	}
	r.Handle("/eid/start", eidRoute(s.eidStart)).Methods(http.MethodGet).Name(routeEIDStart)
	r.Handle("/eid/callback", eidRoute(s.eidCallback)).Methods(http.MethodGet).Name(routeEIDCallback)
	r.Handle("/eid", eidRoute(s.eidPage)).Methods(http.MethodGet, http.MethodHead).Name(routeEID)
	r.Handle("/eid/password", eidRoute(s.eidSubmit("password"))).Methods(http.MethodPost).Name(routeEIDPassword)
	r.Handle("/eid/create", eidRoute(s.eidSubmit("create"))).Methods(http.MethodPost).Name(routeEIDCreate)
	r.Handle("/eid/create/passkey", eidRoute(s.eidCreatePasskey)).Methods(http.MethodPost).Name(routeEIDCreatePasskey)
	r.Handle("/eid/password/passkey", eidRoute(s.eidPasswordPasskey)).Methods(http.MethodPost).Name(routeEIDPasswordPasskey)
	r.Handle("/eid/reset", eidRoute(s.eidSubmit("reset"))).Methods(http.MethodPost).Name(routeEIDReset)
	r.Handle("/", s.withMailbox(s.inbox)).Methods(http.MethodGet, http.MethodHead).Name(routeInbox)
	// GET only: opening a letter marks it read (the sender may be told),
	// so a HEAD — a link checker, a preview — must not reach it: HEAD is
	// answered 405 with "Allow: GET" (RFC 9110 §15.5.6). The other pages
	// allow HEAD, which changes nothing on them.
	r.Handle("/due", s.withMailbox(s.dueList)).Methods(http.MethodGet, http.MethodHead).Name(routeDue)
	r.Handle("/folders", s.withMailbox(s.foldersPage)).Methods(http.MethodGet, http.MethodHead).Name(routeFolders)
	r.Handle("/folders", s.withMailbox(s.folderCreate)).Methods(http.MethodPost).Name(routeFolderCreate)
	r.Handle("/folders/{id:archive|"+idPattern+"}", s.withMailbox(s.folder)).Methods(http.MethodGet, http.MethodHead).Name(routeFolder)
	r.Handle("/folders/{id:"+idPattern+"}/rename", s.withMailbox(s.folderRename)).Methods(http.MethodPost).Name(routeFolderRename)
	r.Handle("/folders/{id:"+idPattern+"}/delete", s.withMailbox(s.folderDelete)).Methods(http.MethodPost).Name(routeFolderDelete)
	r.Handle("/letters/actions", s.withMailbox(s.letterActions)).Methods(http.MethodPost).Name(routeLetterActions)
	r.Handle("/documents", s.withMailbox(s.upload)).Methods(http.MethodPost).Name(routeUpload)
	r.Handle("/letters/{id:"+idPattern+"}/rename", s.withMailbox(s.documentRename)).Methods(http.MethodPost).Name(routeDocumentRename)
	r.Handle("/letters/{id:"+idPattern+"}/paid", s.withMailbox(s.letterPaid)).Methods(http.MethodPost).Name(routeLetterPaid)
	r.Handle("/letters/{id:"+idPattern+"}/reply", s.withMailbox(s.reply)).Methods(http.MethodPost).Name(routeLetterReply)
	r.Handle("/messages", s.withMailbox(s.messagesPage)).Methods(http.MethodGet, http.MethodHead).Name(routeMessages)
	r.Handle("/messages", s.withMailbox(s.messageSend)).Methods(http.MethodPost).Name(routeMessageSend)
	r.Handle("/replies/{id:"+idPattern+"}/attachments/{n:[0-9]}", s.withMailbox(s.replyAttachment)).Methods(http.MethodGet, http.MethodHead).Name(routeReplyAttachment)
	r.Handle("/letters/{id:"+idPattern+"}/sign", s.withMailbox(s.letterSign)).Methods(http.MethodPost).Name(routeLetterSign)
	r.Handle("/letters/{id:"+idPattern+"}/decline", s.withMailbox(s.letterDecline)).Methods(http.MethodPost).Name(routeLetterDecline)
	r.Handle("/letters/{id:"+idPattern+"}/signature", s.withMailbox(s.letterSignatureFile)).Methods(http.MethodGet, http.MethodHead).Name(routeLetterSigned)
	r.Handle("/letters/{id:"+idPattern+"}", s.withMailbox(s.letter)).Methods(http.MethodGet).Name(routeLetter)
	r.Handle("/search", s.withMailbox(s.search)).Methods(http.MethodGet, http.MethodHead).Name(routeSearch)
	r.Handle("/letters/{id:"+idPattern+"}/documents/{n:[0-9]{1,5}}", s.withMailbox(s.document)).Methods(http.MethodGet, http.MethodHead).Name(routeDocument)
	// The receipt as a file (letter_receipt.go): it opens nothing.
	r.Handle("/letters/{id:"+idPattern+"}/appointments/{n:[0-9]}.ics", s.withMailbox(s.letterAppointment)).Methods(http.MethodGet, http.MethodHead).Name(routeLetterAppointment)
	r.Handle("/letters/{id:"+idPattern+"}/receipt", s.withMailbox(s.letterReceipt)).Methods(http.MethodGet, http.MethodHead).Name(routeLetterReceipt)
	// Deleting letters for good (delete_letters.go): the confirmation of
	// one, and the form of one or many, confirmed or not.
	r.Handle("/letters/{id:"+idPattern+"}/delete", s.withMailbox(s.deleteLetterPage)).Methods(http.MethodGet, http.MethodHead).Name(routeLetterDelete)
	r.Handle("/letters/delete", s.withMailbox(s.deleteLetters)).Methods(http.MethodPost).Name(routeLettersDelete)
	r.Handle("/terms", s.terms()).Methods(http.MethodGet, http.MethodHead).Name(routeTerms)
	r.Handle("/terms/accept", s.withMailbox(s.termsAccept)).Methods(http.MethodPost).Name(routeTermsAccept)
	r.Handle("/settings", s.withMailbox(s.settingsPage)).Methods(http.MethodGet, http.MethodHead).Name(routeSettings)
	r.Handle("/settings/notifications", s.withMailbox(s.settingsNotifications)).Methods(http.MethodPost).Name(routeSettingsNotify)
	r.Handle("/settings/language", s.withMailbox(s.settingsLanguage)).Methods(http.MethodPost).Name(routeSettingsLanguage)
	r.Handle("/settings/digital-post", s.withMailbox(s.settingsDigital)).Methods(http.MethodPost).Name(routeSettingsDigital)
	// The senders who wrote to the resident; blocking a private one
	// (senders.go).
	r.Handle("/settings/senders", s.withMailbox(s.sendersPage)).Methods(http.MethodGet, http.MethodHead).Name(routeSenders)
	r.Handle("/settings/senders/block", s.withMailbox(s.sendersBlock)).Methods(http.MethodPost).Name(routeSendersBlock)
	r.Handle("/settings/senders/unblock", s.withMailbox(s.sendersUnblock)).Methods(http.MethodPost).Name(routeSendersUnblock)
	// What will be deleted when, and why (retention.go).
	r.Handle("/settings/retention", s.withMailbox(s.retentionPage)).Methods(http.MethodGet, http.MethodHead).Name(routeRetention)
	r.Handle("/settings/password", s.withMailbox(s.passwordPage)).Methods(http.MethodGet, http.MethodHead).Name(routePassword)
	r.Handle("/settings/password", s.withMailbox(s.passwordSubmit)).Methods(http.MethodPost).Name(routePasswordSubmit)
	r.Handle("/settings/recovery-key", s.withMailbox(s.recoveryRequestPage)).Methods(http.MethodGet, http.MethodHead).Name(routeRecoveryRequest)
	r.Handle("/settings/recovery-key", s.withMailbox(s.recoveryRequestSubmit)).Methods(http.MethodPost).Name(routeRecoveryRequestSubmit)
	// Two-step verification (totp.go).
	r.Handle("/settings/two-step", s.withMailbox(s.totpPage)).Methods(http.MethodGet, http.MethodHead).Name(routeTOTP)
	r.Handle("/settings/two-step/on", s.withMailbox(s.totpOn)).Methods(http.MethodPost).Name(routeTOTPOn)
	r.Handle("/settings/two-step/off", s.withMailbox(s.totpOff)).Methods(http.MethodPost).Name(routeTOTPOff)
	r.Handle("/settings/two-step/backup-codes", s.withMailbox(s.totpBackupCodes)).Methods(http.MethodPost).Name(routeTOTPBackupCodes)
	// Passkeys (passkeys.go): registering, naming and removing them; the
	// second step of a sign-in with one; signing in with one alone.
	r.Handle("/settings/passkeys", s.withMailbox(s.passkeysPage)).Methods(http.MethodGet, http.MethodHead).Name(routePasskeys)
	r.Handle("/settings/passkeys", s.withMailbox(s.passkeyAdd)).Methods(http.MethodPost).Name(routePasskeyAdd)
	r.Handle("/settings/passkeys/{id:"+passkeyIDPattern+"}/rename", s.withMailbox(s.passkeyRename)).Methods(http.MethodPost).Name(routePasskeyRename)
	r.Handle("/settings/passkeys/{id:"+passkeyIDPattern+"}/remove", s.withMailbox(s.passkeyRemove)).Methods(http.MethodPost).Name(routePasskeyRemove)
	r.Handle("/login/code/passkey", http.HandlerFunc(s.loginPasskeyStep)).Methods(http.MethodPost).Name(routeLoginPasskeyStep)
	r.Handle("/login/passkey", http.HandlerFunc(s.loginPasskeyPage)).Methods(http.MethodGet, http.MethodHead).Name(routeLoginPasskey)
	r.Handle("/login/passkey", http.HandlerFunc(s.loginPasskeySubmit)).Methods(http.MethodPost).Name(routeLoginPasskeySubmit)
	// Where the resident is signed in, and signing devices out (sessions.go).
	r.Handle("/settings/sessions", s.withMailbox(s.sessionsPage)).Methods(http.MethodGet, http.MethodHead).Name(routeSessions)
	r.Handle("/settings/sessions/end", s.withMailbox(s.sessionsEnd)).Methods(http.MethodPost).Name(routeSessionsEnd)
	r.Handle("/settings/sessions/end-others", s.withMailbox(s.sessionsEndOthers)).Methods(http.MethodPost).Name(routeSessionsEndOthers)
	// Asking the operator for help (support.go).
	r.Handle("/support", s.withMailbox(s.supportPage)).Methods(http.MethodGet, http.MethodHead).Name(routeSupport)
	r.Handle("/support", s.withMailbox(s.supportSubmit)).Methods(http.MethodPost).Name(routeSupportSubmit)
	// Taking the mail out and bringing it in from another Postkasse
	// (export.go). The export is a POST: it is audited, and a link
	// followed from another site must not start it.
	r.Handle("/settings/export", s.withMailbox(s.exportPage)).Methods(http.MethodGet, http.MethodHead).Name(routeExport)
	r.Handle("/settings/export", s.withMailbox(s.exportSubmit)).Methods(http.MethodPost).Name(routeExportSubmit)
	r.Handle("/settings/import", s.withMailbox(s.importSubmit)).Methods(http.MethodPost).Name(routeImportSubmit)
	r.Handle("/settings/access", s.withMailbox(s.accessPage)).Methods(http.MethodGet, http.MethodHead).Name(routeAccess)
	r.Handle("/settings/access", s.withMailbox(s.accessGrant)).Methods(http.MethodPost).Name(routeAccessGrant)
	r.Handle("/settings/access/{id:"+idPattern+"}/accept", s.withMailbox(s.accessAccept)).Methods(http.MethodPost).Name(routeAccessAccept)
	r.Handle("/settings/access/{id:"+idPattern+"}/end", s.withMailbox(s.accessEnd)).Methods(http.MethodPost).Name(routeAccessEnd)
	r.Handle("/mailboxes/{grant:"+idPattern+"}", s.withDelegated(s.delegatedList)).Methods(http.MethodGet, http.MethodHead).Name(routeDelegated)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}", s.withDelegated(s.delegatedLetter)).Methods(http.MethodGet).Name(routeDelegatedLetter)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/documents/{n:[0-9]{1,5}}", s.withDelegated(s.delegatedDocument)).Methods(http.MethodGet, http.MethodHead).Name(routeDelegatedDocument)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/act", s.withDelegated(s.delegatedAct)).Methods(http.MethodPost).Name(routeDelegatedAct)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/reply", s.withDelegated(s.delegatedReply)).Methods(http.MethodPost).Name(routeDelegatedReply)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/replies/{id:"+idPattern+"}/attachments/{n:[0-9]}", s.withDelegated(s.delegatedReplyAttachment)).Methods(http.MethodGet, http.MethodHead).Name(routeDelegatedReplyAttachment)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/signature", s.withDelegated(s.delegatedSignaturePage)).Methods(http.MethodGet).Name(routeDelegatedSignature)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/sign", s.withDelegated(s.delegatedSign)).Methods(http.MethodPost).Name(routeDelegatedSign)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/decline", s.withDelegated(s.delegatedDecline)).Methods(http.MethodPost).Name(routeDelegatedDecline)
	r.Handle("/mailboxes/{grant:"+idPattern+"}/letters/{id:"+idPattern+"}/signature/file", s.withDelegated(s.delegatedSignedFile)).Methods(http.MethodGet, http.MethodHead).Name(routeDelegatedSigned)
	r.Handle("/settings/delete", s.withMailbox(s.deleteMailboxPage)).Methods(http.MethodGet, http.MethodHead).Name(routeDeleteMailbox)
	r.Handle("/settings/delete", s.withMailbox(s.deleteMailboxSubmit)).Methods(http.MethodPost).Name(routeDeleteMailboxSubmit)
}

// FormPage is the page that shows the form a POST to path came from
// (web.PagesConfig.FormPage): the footer links that page in the other
// languages.
func FormPage(p *web.Pages, path string) string {
	switch path {
	case p.MustURL(routeLogin), p.MustURL(routeActivate), p.MustURL(routeDeleteMailbox), p.MustURL(routePassword), p.MustURL(routeSupport),
		p.MustURL(routeRecoveryRequest):
		return path
	case p.MustURL(routeLoginCode):
		return path
	case p.MustURL(routeTOTPOn), p.MustURL(routeTOTPOff), p.MustURL(routeTOTPBackupCodes):
		return p.MustURL(routeTOTP)
	case p.MustURL(routeSettingsNotify), p.MustURL(routeSettingsLanguage):
		return p.MustURL(routeSettings)
	case p.MustURL(routeSendersBlock), p.MustURL(routeSendersUnblock):
		return p.MustURL(routeSenders)
	case p.MustURL(routeExportSubmit), p.MustURL(routeImportSubmit):
		return p.MustURL(routeExport)
	case p.MustURL(routeSessionsEnd), p.MustURL(routeSessionsEndOthers):
		return p.MustURL(routeSessions)
	case p.MustURL(routeTermsAccept):
		return p.MustURL(routeTerms)
	case p.MustURL(routeLogout):
		return p.MustURL(routeLogin)
	case p.MustURL(routePasskeyAdd):
		return p.MustURL(routePasskeys)
	case p.MustURL(routeLoginPasskeyStep):
		return p.MustURL(routeLoginCode)
	case p.MustURL(routeLoginPasskeySubmit):
		return p.MustURL(routeLoginPasskey)
	}
	if strings.HasPrefix(path, p.MustURL(routePasskeys)+"/") {
		return p.MustURL(routePasskeys)
	}
	return p.MustURL(routeInbox)
}
