package resident

import (
	"html/template"
	"strings"
	"time"

	"github.com/postkasse/postkasse/httpui/web"
	"github.com/postkasse/postkasse/i18n"
	"github.com/postkasse/postkasse/store"
)

// inboxLines writes a folder page's letters, the <li> of each, as the
// page's template would, in Go: for 50 letters html/template's reflection
// and the catalogue's templates (four messages a line) took most of a
// page's rendering (PERFORMANCE.md, "The inbox page under a bulk send").
// The messages without a value are looked up once a page; every value is
// escaped here, as html/template would in these places (text and
// double-quoted attributes).
func (s *Handlers) inboxLines(l *i18n.Lang, lines []inboxLine) template.HTML {
	if len(lines) == 0 {
		return ""
	}
	msg := lineTextsOf(l)
	// The letter's URL around its id, from the route with a marker id
	// (every id is the store's, of idPattern: nothing to escape).
	const marker = "0123456789abcdef0123456789abcdef"
	urlBefore, urlAfter, _ := strings.Cut(s.pages.MustURL(routeLetter, "id", marker), marker)
	types := map[store.LetterType]string{}
	var b strings.Builder
	b.Grow(len(lines) * 1200)
	esc := func(s string) { b.WriteString(template.HTMLEscapeString(s)) }
	for _, line := range lines {
		id := template.HTMLEscapeString(line.ID)
		b.WriteString(`<li class="letter has-select`)
		if line.Unread() {
			b.WriteString(` is-unread`)
		}
		b.WriteString(`"><div class="letter-select"><input type="checkbox" name="id" value="` + id + `" id="select-` + id + `"`)
		if line.Hold != nil {
			b.WriteString(` disabled`)
		}
		b.WriteString(`><label for="select-` + id + `" class="visually-hidden">`)
		if line.Error != nil || line.Hold != nil {
			esc(l.T("inbox.select.damaged", "ID", line.ID))
		} else {
			esc(l.T("inbox.select", "Subject", line.Subject))
		}
		b.WriteString(`</label></div><div class="letter-main"><p class="letter-sender">`)
		if line.Own {
			b.WriteString(msg.ownCopy)
		} else {
			esc(line.SenderName)
		}
		b.WriteString(`</p>`)
		if line.Error != nil {
			b.WriteString(`<h2 class="letter-subject">` + msg.damaged + `</h2><p class="letter-error">`)
			esc(l.T("inbox.damaged.text", "ID", line.ID))
			b.WriteString(`</p>`)
		} else {
			b.WriteString(`<h2 class="letter-subject"><a href="` + urlBefore + id + urlAfter + `">`)
			if line.Hold != nil {
				b.WriteString(msg.held)
			} else {
				esc(line.Subject)
			}
			b.WriteString(`</a></h2><p class="letter-tags">`)
			if line.Unread() {
				b.WriteString(`<span class="badge badge-unread">` + msg.unread + `</span> `)
			}
			if line.Own {
				b.WriteString(`<span class="badge badge-own">` + msg.ownBadge + `</span> `)
			} else {
				label, ok := types[line.Type]
				if !ok {
					label = template.HTMLEscapeString(web.TypeLabel(l, line.Type))
					types[line.Type] = label
				}
				b.WriteString(`<span class="badge badge-type">` + label + `</span> `)
			}
			if line.ImportedFrom != nil {
				b.WriteString(`<span class="badge badge-imported">` + msg.imported + `</span> `)
			}
			if !line.PaidAt.IsZero() {
				b.WriteString(`<span class="badge badge-paid">` + msg.paid + `</span>`)
			} else if d := line.Due; d != nil {
				b.WriteString(`<span class="badge badge-due`)
				if d.Soon {
					b.WriteString(` is-soon`)
				}
				if d.Overdue {
					b.WriteString(` is-overdue`)
				}
				b.WriteString(`">`)
				esc(d.Text)
				if d.Note != "" {
					b.WriteString(` · `)
					esc(d.Note)
				}
				b.WriteString(`</span>`)
			}
			b.WriteString(`</p>`)
		}
		b.WriteString(`</div><p class="letter-date"><span class="date-label">`)
		if line.Own {
			b.WriteString(msg.saved)
		} else {
			b.WriteString(msg.received)
		}
		b.WriteString(` </span><time datetime="` + line.DeliveredAt.UTC().Format(time.RFC3339) + `">`)
		esc(l.ShortDate(line.DeliveredAt.In(s.loc)))
		b.WriteString("</time></p></li>\n")
	}
	return template.HTML(b.String())
}

// lineTexts are the messages of a letter's line that take no value,
// escaped.
type lineTexts struct {
	ownCopy, damaged, held, unread, ownBadge, imported, paid, saved, received string
}

// lineTextsOf looks lineTexts up in the language.
func lineTextsOf(l *i18n.Lang) lineTexts {
	t := func(id string) string { return template.HTMLEscapeString(l.T(id)) }
	return lineTexts{ownCopy: t("upload.ownCopy"), damaged: t("inbox.damaged"), held: t("inbox.held"),
		unread: t("inbox.badge.unread"), ownBadge: t("upload.badge"), imported: t("inbox.badge.imported"),
		paid: t("inbox.badge.paid"), saved: t("upload.saved"), received: t("inbox.received")}
}
