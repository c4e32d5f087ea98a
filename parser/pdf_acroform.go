package parser

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ledongthuc/pdf"
)

// lineBreaks makes text fields' CR line ends "\n".
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// acroField is one terminal AcroForm field and where its widget is.
type acroField struct {
	name  string // partial names joined with dots
	value string
	page  int // index into the document's pages; -1 when unknown
	// noAnswer marks a field that cannot hold an answer (a push button,
	// a signature): its name is reported, its value is always blank.
	noAnswer bool
	// field and widgets are the field's dictionary and its widgets (those
	// on this page, when it is shown on several), for laying its value out
	// where it is shown when its name says nothing (pdf_fieldtext.go);
	// nothing is read from them unless so.
	field   pdf.Value
	widgets []pdf.Value
}

// Bounds of the field tree walk.
const (
	maxFieldDepth = 32
	maxFieldNodes = 20_000
)

// Field flags (PDF 32000-1:2008, 12.7.4.2).
const (
	ffRadio      = 1 << 15
	ffPushbutton = 1 << 16
)

// anyAnswerField reports whether any field can hold an answer: a form
// of push buttons and signatures only (a signed scan) has none.
func anyAnswerField(fields []acroField) bool {
	for _, f := range fields {
		if !f.noAnswer {
			return true
		}
	}
	return false
}

func anyFilled(fields []acroField) bool {
	for _, f := range fields {
		if f.value != "" && f.value != "Off" {
			return true
		}
	}
	return false
}

// readAcroForm walks /Root /AcroForm /Fields. It contains the library's
// panics itself so that a broken form dictionary still leaves the page
// text readable.
func readAcroForm(root pdf.Value, pages []pdf.Page) (fields []acroField, err error) {
	defer func() {
		if x := recover(); x != nil {
			fields, err = nil, nil
		}
	}()
	top := root.Key("AcroForm").Key("Fields")
	if top.Len() == 0 {
		return nil, nil
	}
	pageOf := widgetPages(pages)
	w := &fieldWalker{pageOf: pageOf, visited: map[uint64]bool{}}
	for i := 0; i < top.Len() && w.nodes < maxFieldNodes; i++ {
		w.walk(top.Index(i), "", 0, 0)
	}
	return w.out, nil
}

// widgetPages maps each annotation object on a page (by identity) to the
// page's index, and each page object to its index, so a widget finds its
// page by /P or by the page's /Annots.
func widgetPages(pages []pdf.Page) map[uint64]int {
	m := map[uint64]int{}
	for i, p := range pages {
		if id, ok := objID(p.V); ok {
			m[id|1<<63] = i
		}
		// The annotations' identities are read from the array's
		// references: loading each widget only for its id was a quarter
		// of a filled form's reading.
		annots := p.V.Key("Annots")
		for j := 0; j < annots.Len() && j < 5000; j++ {
			if id, ok := elemRefID(annots, j); ok {
				if _, seen := m[id]; !seen {
					m[id] = i
				}
			}
		}
	}
	return m
}

type fieldWalker struct {
	pageOf  map[uint64]int
	visited map[uint64]bool
	nodes   int
	out     []acroField
}

func (w *fieldWalker) walk(f pdf.Value, prefix string, parent uint64, depth int) {
	w.nodes++
	if depth > maxFieldDepth || w.nodes > maxFieldNodes || f.Kind() != pdf.Dict {
		return
	}
	if id, ok := objID(f); ok && id != parent {
		if w.visited[id] {
			return
		}
		w.visited[id] = true
		parent = id
	}
	name := prefix
	if t := f.Key("T"); t.Kind() == pdf.String {
		if name != "" {
			name += "."
		}
		name += t.Text()
	}
	kids := f.Key("Kids")
	var childFields, widgets []pdf.Value
	for i := 0; i < kids.Len() && i < 5000; i++ {
		k := kids.Index(i)
		if k.Key("T").Kind() != pdf.Null {
			childFields = append(childFields, k)
		} else {
			widgets = append(widgets, k)
		}
	}
	if len(childFields) > 0 {
		for _, k := range childFields {
			w.walk(k, name, parent, depth+1)
		}
		return
	}
	if name == "" && f.Key("T").Kind() != pdf.String {
		return // a widget with no field name at all; "/T ()" is a name
	}
	if f.Key("Subtype").Name() == "Widget" || len(widgets) == 0 {
		widgets = append(widgets, f)
	}
	value, ok := fieldValue(f, widgets)
	// A field shown on several pages is on each: a tool that merges two
	// forms may join their same-named fields (cyp_dob on the referral's
	// page and the consent's) into one, which each form then reads.
	pages := w.pages(widgets)
	for i, p := range pages {
		if i > 0 && len(w.out) >= 2*maxFieldNodes {
			break // bounded however many pages each field is shown on
		}
		shown := widgets
		if len(pages) > 1 {
			shown = w.widgetsOn(widgets, p)
		}
		w.out = append(w.out, acroField{name: name, value: value, page: p, noAnswer: !ok, field: f, widgets: shown})
	}
}

// pageOfWidget is the index of the page a widget is placed on, -1 when
// none.
func (w *fieldWalker) pageOfWidget(wd pdf.Value) int {
	if id, ok := objID(wd); ok {
		if i, ok := w.pageOf[id]; ok {
			return i
		}
	}
	// Resolving /P reads the page object: only when the page's /Annots
	// did not list the widget.
	if id, ok := objID(wd.Key("P")); ok {
		if i, ok := w.pageOf[id|1<<63]; ok {
			return i
		}
	}
	return -1
}

// pages finds the pages of the field's placed widgets, first placed
// first; [-1] when none is placed.
func (w *fieldWalker) pages(widgets []pdf.Value) []int {
	var out []int
	for _, wd := range widgets {
		if p := w.pageOfWidget(wd); p >= 0 && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []int{-1}
	}
	return out
}

// widgetsOn is those of a field's widgets that are placed on page p.
func (w *fieldWalker) widgetsOn(widgets []pdf.Value, p int) []pdf.Value {
	var on []pdf.Value
	for _, wd := range widgets {
		if w.pageOfWidget(wd) == p {
			on = append(on, wd)
		}
	}
	return on
}

// inherited looks a key up the /Parent chain (FT, V, Ff are inheritable).
func inherited(f pdf.Value, key string) pdf.Value {
	for i := 0; i < maxFieldDepth && f.Kind() == pdf.Dict; i++ {
		if v := f.Key(key); !v.IsNull() {
			return v
		}
		f = f.Key("Parent")
	}
	return pdf.Value{}
}

// fieldValue is the text a field holds; ok is false for fields that hold
// no answer (push buttons, signatures).
func fieldValue(f pdf.Value, widgets []pdf.Value) (string, bool) {
	ft := inherited(f, "FT").Name()
	flags := inherited(f, "Ff").Int64()
	v := inherited(f, "V")
	switch ft {
	case "Sig":
		return "", false
	case "Btn":
		if flags&ffPushbutton != 0 {
			return "", false
		}
		state := v.Name()
		if v.Kind() == pdf.String {
			state = v.Text()
		}
		if state == "" {
			// Some writers set only the widget's appearance state.
			for _, wd := range widgets {
				if as := wd.Key("AS").Name(); as != "" && as != "Off" {
					state = as
					break
				}
			}
		}
		state = optionValue(f, widgets, state)
		if flags&ffRadio != 0 {
			if state == "Off" {
				state = "" // a radio group with nothing chosen is blank
			}
			return state, true
		}
		if state == "" {
			state = "Off"
		}
		return state, true
	}
	shown := func(s string) string { return s }
	if ft == "Ch" {
		shown = func(s string) string { return choiceDisplay(f, s) }
	}
	switch v.Kind() {
	case pdf.String:
		return shown(lineBreaks.Replace(v.Text())), true
	case pdf.Name:
		return shown(v.Name()), true
	case pdf.Array:
		var parts []string
		for i := 0; i < v.Len() && i < 1000; i++ {
			if s := v.Index(i); s.Kind() == pdf.String {
				parts = append(parts, shown(lineBreaks.Replace(s.Text())))
			}
		}
		return strings.Join(parts, "\n"), true
	case pdf.Integer, pdf.Real:
		return shown(v.String()), true
	}
	return "", true
}

// choiceDisplay is the text a list or combo box shows for the value it
// holds: its /Opt may pair each option's export value with the text shown
// ([(R) (Red)]), and the value is then the export value, which a form
// made in Acrobat with export values set holds ("R", "1") and the
// referrer never saw. pdftk lists both (FieldStateOption and
// FieldStateOptionDisplay); the text shown is the answer.
func choiceDisplay(f pdf.Value, value string) string {
	opt := inherited(f, "Opt")
	for i := 0; i < opt.Len() && i < 1000; i++ {
		o := opt.Index(i)
		if o.Kind() != pdf.Array || o.Len() != 2 {
			continue
		}
		if o.Index(0).Text() == value {
			if d := o.Index(1).Text(); d != "" {
				return lineBreaks.Replace(d)
			}
			return value
		}
	}
	return value
}

// optionValue is the export value of a button's on state when the field
// has /Opt (PDF 32000-1:2008, 12.7.4.2.3): the states are then often the
// widgets' positions in /Kids ("/V /0" with /Opt [(Male) (Female)] means
// Male), and a named state is the option of the widget it turns on.
// Reading the position itself would turn "0" and "1" into No and Yes.
func optionValue(f pdf.Value, widgets []pdf.Value, state string) string {
	if state == "" || state == "Off" {
		return state
	}
	opt := inherited(f, "Opt")
	if opt.Kind() != pdf.Array || opt.Len() == 0 {
		return state
	}
	i, err := strconv.Atoi(state)
	if err != nil || i < 0 || strconv.Itoa(i) != state {
		i = -1
		for j, wd := range widgets {
			if wd.Key("AS").Name() == state {
				i = j
				break
			}
		}
		for j := 0; i < 0 && j < len(widgets); j++ {
			if wd := widgets[j]; wd.Key("AP").Key("N").Key(state).Kind() != pdf.Null {
				i = j
			}
		}
	}
	if i < 0 || i >= opt.Len() {
		return state
	}
	o := opt.Index(i)
	if o.Kind() == pdf.Array && o.Len() > 0 {
		// A choice field's [export display] pair, written by some tools
		// for buttons too: the export value is the answer.
		o = o.Index(0)
	}
	if o.Kind() != pdf.String || strings.TrimSpace(o.Text()) == "" {
		return state
	}
	return o.Text()
}
