package resident

import (
	"net/http"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/store"
)

// retentionView is the data of the retention page: what the retention
// rules will delete of the resident's mailbox, when and why
// (store.Mailbox.RetentionPreview, computed by the rules the retention
// job applies).
type retentionView struct {
	// Inactivity is the inactivity rule's plan; nil when it does not
	// apply.
	Inactivity *retentionInactivity
	// DeceasedPublic and DeceasedPrivate are the keeping periods after
	// death, in words; PublicLetters and PrivateLetters the letters they
	// would apply to today.
	DeceasedPublic, DeceasedPrivate string
	PublicLetters, PrivateLetters   int
}

// retentionInactivity is the inactivity rule's plan in words.
type retentionInactivity struct {
	DeleteAt  string // "22 November 2031"
	Period    string // "5 years"
	LastLogin string
	Letters   int // the letters deleted with the account
	Warnings  []retentionWarning
	// Notified: the resident has chosen a channel the warnings go to.
	Notified bool
}

// retentionWarning is one warning before the deletion.
type retentionWarning struct {
	Date string // when it is sent
	Lead string // how long before the deletion: "30 days"
	Sent bool   // already sent
}

// retentionPage shows what will be deleted when, and why.
func (s *Handlers) retentionPage(w http.ResponseWriter, r *http.Request, mb *store.Mailbox) {
	resident := mb.Resident()
	preview, err := mb.RetentionPreview(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	prefs, err := mb.NotificationPreferences(r.Context())
	if err != nil {
		s.pages.PageError(w, r, &resident, err)
		return
	}
	l := s.web.Lang(r)
	v := retentionView{
		DeceasedPublic: periodText(l, preview.Policy.DeceasedPublic), DeceasedPrivate: periodText(l, preview.Policy.DeceasedPrivate),
		PublicLetters: preview.PublicLetters, PrivateLetters: preview.PrivateLetters,
	}
	if iv := preview.Inactivity; iv != nil {
		ri := &retentionInactivity{DeleteAt: s.longDate(l, iv.DeleteAt), Period: periodText(l, preview.Policy.Inactivity),
			LastLogin: s.longDate(l, iv.LastLogin), Letters: preview.PublicLetters + preview.PrivateLetters, Notified: len(prefs.Channels()) > 0}
		for _, w := range iv.Warnings {
			ri.Warnings = append(ri.Warnings, retentionWarning{Date: s.longDate(l, w.At), Lead: periodText(l, w.Lead), Sent: w.Given})
		}
		v.Inactivity = ri
	}
	s.pages.Render(w, r, http.StatusOK, pageRetention, web.View{Title: l.T("retention.title"), Resident: &resident, Data: v})
}
