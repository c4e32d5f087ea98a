package schedule

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"dsr-intake/intake"
	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// A digest is built once as sections of lines and items, then written as
// plain text and as HTML from the same model, so the two never disagree.
type digestSection struct {
	Title string
	Lines []digestLine
}

type digestLine struct {
	Text  string
	Items []string
}

type digestRenderer struct {
	spec      DigestSpec
	loc       *time.Location
	now       time.Time
	reviewURL string
	mail      *DigestMail
	health    *intake.HealthSnapshot
}

func (r digestRenderer) when(t time.Time) string { return t.In(r.loc).Format("Mon 2 Jan 2006 15:04") }

func (r digestRenderer) days(t time.Time) int { return int(r.now.Sub(t) / (24 * time.Hour)) }

func child(c store.ChildRef) string {
	s := c.Ref
	if s == "" {
		s = fmt.Sprintf("record %d", c.RecordID)
	}
	if c.Initials != "" {
		s += " " + dotted(c.Initials)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func childItems(cs []store.ChildRef, withRAG bool) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		s := child(c)
		if withRAG && c.RAG != "" {
			s += " (" + c.RAG + ")"
		}
		out = append(out, s)
	}
	return out
}

func (r digestRenderer) sections() []digestSection {
	f := r.mail.Figures
	var out []digestSection
	if r.spec.has(SectionSinceLast) {
		total := 0
		for _, n := range f.Emails {
			total += n
		}
		since := "Since the last digest (" + r.when(f.Since) + ")"
		if r.mail.PrevAt.IsZero() {
			since = "In the last 7 days (since " + r.when(f.Since) + ")"
		}
		moves := make([]string, 0, len(f.RAGChanges))
		for _, m := range f.RAGChanges {
			moves = append(moves, fmt.Sprintf("%s: %s to %s", child(m.Child), m.From, m.To))
		}
		withdrawn := make([]string, 0, len(f.Withdrawals))
		for _, c := range f.Withdrawals {
			withdrawn = append(withdrawn, child(c))
		}
		out = append(out, digestSection{Title: since, Lines: []digestLine{
			{Text: fmt.Sprintf("Emails received: %d (added to the register %d, queried %d, to review %d, ignored %d)", total,
				f.Emails[register.OutcomeRegister], f.Emails[register.OutcomeQuery], f.Emails[register.OutcomeReview],
				f.Emails[register.OutcomeIgnore])},
			{Text: fmt.Sprintf("Children added to the register: %d", len(f.ChildrenAdded)), Items: childItems(f.ChildrenAdded, true)},
			{Text: fmt.Sprintf("RAG changes: %d", len(f.RAGChanges)), Items: moves},
			{Text: fmt.Sprintf("Withdrawals of consent: %d", len(f.Withdrawals)), Items: withdrawn},
		}})
	}
	if r.spec.has(SectionRegister) {
		total := 0
		var items []string
		for _, rag := range parser.RAGRatings() {
			n := f.ByRAG[rag]
			total += n
			s := fmt.Sprintf("%s: %d", rag, n)
			if r.mail.PrevRAG != nil {
				switch d := n - r.mail.PrevRAG[rag]; {
				case d > 0:
					s += fmt.Sprintf(" (up %d)", d)
				case d < 0:
					s += fmt.Sprintf(" (down %d)", -d)
				default:
					s += " (no change)"
				}
			}
			items = append(items, s)
		}
		out = append(out, digestSection{Title: "The register", Lines: []digestLine{
			{Text: "Children on the register: " + fmt.Sprint(total), Items: items}}})
	}
	if r.spec.has(SectionQueue) {
		lines := []digestLine{{Text: fmt.Sprintf("Waiting for a coordinator: %d", f.ReviewOpen)}}
		if o := f.ReviewOldest; o != nil {
			lines = append(lines, digestLine{Text: "Oldest: " + r.reviewItem(*o)})
		}
		old := make([]string, 0, len(f.ReviewOld))
		for _, it := range f.ReviewOld {
			old = append(old, r.reviewItem(it))
		}
		lines = append(lines, digestLine{Text: fmt.Sprintf("Waiting more than %s: %d", plural(int(r.spec.ReviewOlderThan/(24*time.Hour)), "day", "days"), len(f.ReviewOld)), Items: old})
		out = append(out, digestSection{Title: "The review queue", Lines: lines})
	}
	if r.spec.has(SectionQueries) {
		var under7, under14, over14 int
		waiting := make([]string, 0, len(f.Waiting))
		for _, q := range f.Waiting {
			d := r.days(q.SentAt)
			switch {
			case d < 7:
				under7++
			case d < 14:
				under14++
			default:
				over14++
			}
			s := fmt.Sprintf("%s: asked %s ago", q.Ref, plural(d, "day", "days"))
			if q.RemindedAt != nil {
				s += ", reminded"
			}
			waiting = append(waiting, s)
		}
		out = append(out, digestSection{Title: "Queries to referrers", Lines: []digestLine{
			{Text: fmt.Sprintf("Waiting for a reply: %d (under 7 days %d, 7 to 13 days %d, 14 days or more %d)", len(f.Waiting), under7, under14, over14), Items: waiting},
			{Text: fmt.Sprintf("Reminders sent: %d", f.RemindersSent)},
			{Text: fmt.Sprintf("Sent to review for no reply: %d", len(f.NoReply)), Items: f.NoReply},
			{Text: fmt.Sprintf("Could not be sent, so sent to review: %d", len(f.NotDelivered)), Items: f.NotDelivered},
		}})
	}
	if r.spec.has(SectionTurning18) {
		items := make([]string, 0, len(f.TurningEighteen))
		for _, t := range f.TurningEighteen {
			s := child(t.Child)
			if t.Already18 {
				s += " (already 18)"
			}
			items = append(items, s)
		}
		out = append(out, digestSection{Title: "Moving to the adult DSR", Lines: []digestLine{
			{Text: fmt.Sprintf("Turning 18 within %s, soonest first: %d", plural(int(r.spec.Age18Within/(24*time.Hour)), "day", "days"), len(items)), Items: items}}})
	}
	if r.spec.has(SectionCETR) {
		out = append(out, digestSection{Title: "Care (Education) and Treatment Reviews", Lines: []digestLine{
			{Text: fmt.Sprintf("Red and Blue children with no C(E)TR date recorded: %d", len(f.CETRMissing)), Items: childItems(f.CETRMissing, true)},
			{Text: fmt.Sprintf("Red and Blue children whose C(E)TR is more than %s old: %d", plural(int(r.spec.CETRReviewAfter/(24*time.Hour)), "day", "days"), len(f.CETROverdue)),
				Items: childItems(f.CETROverdue, true)},
		}})
	}
	if r.spec.has(SectionActions) {
		out = append(out, r.actionsSection())
	}
	if r.spec.has(SectionHealth) {
		var lines []digestLine
		if r.health != nil {
			fetch := "not yet"
			if !r.health.LastFetchOK.IsZero() {
				fetch = r.when(r.health.LastFetchOK)
			}
			lines = append(lines, digestLine{Text: "Last successful look at the mailbox: " + fetch})
		}
		last := "none yet"
		if f.LastReceived != nil {
			last = r.when(*f.LastReceived)
		}
		lines = append(lines,
			digestLine{Text: "Last email recorded: " + last},
			digestLine{Text: fmt.Sprintf("Emails quarantined (could not be processed) and waiting: %d (%d since the last digest)", f.Quarantined, f.QuarantinedInPeriod)},
			digestLine{Text: fmt.Sprintf("Outgoing emails given up on: %d (%d since the last digest)", f.OutboxFailed, f.OutboxFailedInPeriod),
				Items: notDeliveredItems(f.NotDelivered)},
			digestLine{Text: fmt.Sprintf("Outgoing emails waiting to be sent: %d", f.OutboxBacklog)},
		)
		out = append(out, digestSection{Title: "The intake", Lines: lines})
	}
	return out
}

func (r digestRenderer) reviewItem(it store.ReviewRef) string {
	what := it.Ref
	if what == "" {
		what = "an email that could not be processed"
	}
	return fmt.Sprintf("%s, waiting %s (%s)", what, plural(r.days(it.CreatedAt), "day", "days"), reasonWords(it.Codes))
}

const digestFooter = "This digest carries case references and initials only. Open the review pages for the details."

func (r digestRenderer) render() (text, html string, err error) {
	secs := r.sections()
	var b strings.Builder
	fmt.Fprintf(&b, "Bromley Dynamic Support Register: %s\n%s\n", r.mail.Name, r.when(r.now))
	for _, s := range secs {
		fmt.Fprintf(&b, "\n%s\n%s\n", s.Title, strings.Repeat("-", len([]rune(s.Title))))
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "%s\n", l.Text)
			for _, it := range l.Items {
				fmt.Fprintf(&b, "  - %s\n", it)
			}
		}
	}
	b.WriteString("\n" + digestFooter + "\n")
	if r.reviewURL != "" {
		fmt.Fprintf(&b, "Review pages: %s\n", r.reviewURL)
	}
	var h bytes.Buffer
	err = digestHTML.Execute(&h, map[string]any{"Name": r.mail.Name, "When": r.when(r.now), "Sections": secs,
		"Footer": digestFooter, "ReviewURL": template.URL(safeURL(r.reviewURL))})
	if err != nil {
		return "", "", fmt.Errorf("render digest: %w", err)
	}
	return b.String(), h.String(), nil
}

// safeURL keeps only http(s) links from the configuration.
func safeURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

var digestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bromley DSR digest</title></head>
<body style="font-family: Arial, sans-serif; color: #212b32;">
<h1 style="font-size: 1.4em;">Bromley Dynamic Support Register: {{.Name}}</h1>
<p>{{.When}}</p>
{{range .Sections}}<h2 style="font-size: 1.15em;">{{.Title}}</h2>
{{range .Lines}}<p>{{.Text}}</p>
{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{end}}{{end}}<p>{{.Footer}}</p>
{{if .ReviewURL}}<p><a href="{{.ReviewURL}}">Open the review pages</a></p>
{{end}}</body></html>
`))

// notDeliveredItems names the cases whose query was given up, for the
// intake's health: each is in the review queue.
func notDeliveredItems(refs []string) []string {
	out := make([]string, len(refs))
	for i, ref := range refs {
		out[i] = ref + ": query not delivered, in the review queue"
	}
	return out
}
