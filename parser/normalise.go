package parser

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Normalise turns the text found for a field into its canonical form.
// A blank value returns ("", nil); a value that cannot be normalised
// returns an error naming what was wrong.
func Normalise(spec FieldSpec, raw string) (string, error) {
	v := cleanText(raw)
	if v == "" {
		return "", nil
	}
	// One unticked box alone, as a Word form's check box prints: a Yes/No
	// made as a single box is No; any other field is blank.
	if v == "☐" {
		if spec.Type == YesNo {
			return "false", nil
		}
		return "", nil
	}
	switch spec.Type {
	case Date:
		t, err := ParseDate(v)
		if err != nil {
			return "", err
		}
		return t.Format(time.DateOnly), nil
	case YesNo:
		b, blank, err := ParseYesNo(v)
		if err != nil || blank {
			return "", err
		}
		return strconv.FormatBool(b), nil
	case Choice:
		return matchChoice(v, spec.Choices)
	case NHSNumber:
		return NormaliseNHSNumber(v)
	}
	return v, nil
}

// cleanText trims every line, drops blank lines at either end and folds
// runs of spaces, keeping line breaks (addresses are multi-line).
func cleanText(s string) string {
	if alreadyClean(s) {
		// Most of a form's texts are: no allocation for them (the Word
		// reader cleans every paragraph and cell).
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, unicode.IsSpace), " ")
		out = append(out, l)
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

// alreadyClean reports whether cleanText would give s back as it is: ASCII
// (other spaces, such as a no-break space, are folded), no white space but
// single spaces between words and line breaks between lines, none at
// either end of a line or of s.
func alreadyClean(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[0] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\n' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\r', c == '\t', c == '\v', c == '\f':
			return false
		case c == ' ' || c == '\n':
			if n := s[i+1]; n == ' ' || (n == '\n' && c == ' ') || (c == '\n' && n == ' ') {
				return false
			}
		}
	}
	return true
}

var months = map[string]time.Month{}

func init() {
	for m := time.January; m <= time.December; m++ {
		name := strings.ToLower(m.String())
		months[name] = m
		months[name[:3]] = m
	}
	months["sept"] = time.September
}

var (
	numericDate = regexp.MustCompile(`^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$`)
	isoDate     = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})$`)
	wordDate    = regexp.MustCompile(`^(\d{1,2})(?:st|nd|rd|th)?(?:\s+|\s*[/.\-]\s*)([A-Za-z]+)\.?,?(?:\s+|\s*[/.\-]\s*)(\d{4})$`)
	// "November 23, 2026": the month is a word, so the order is not a guess.
	monthFirst = regexp.MustCompile(`^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$`)
	isoSlash   = regexp.MustCompile(`^(\d{4})/(\d{1,2})/(\d{1,2})$`)
	// A weekday before the date, as Word's long date format writes it
	// ("Monday, 23 November 2026").
	weekday = regexp.MustCompile(`(?i)^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\.?,?\s+`)
)

// ErrAmbiguousDate is returned for dates that only make sense month-first.
var ErrAmbiguousDate = errors.New("looks like a month-first (US) date")

// ParseDate reads the UK date forms the DSR forms meet: DD/MM/YYYY,
// D/M/YYYY, DD-MM-YYYY, DD.MM.YYYY, D Month YYYY (also D-Mon-YYYY, as
// Acrobat's date formats write it, and after a weekday, as Word's long
// date does), Month D, YYYY, and ISO YYYY-MM-DD (or YYYY/MM/DD). Numeric
// month-first dates are never guessed.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	s = weekday.ReplaceAllString(s, "")
	var y, m, d int
	switch {
	case isoDate.MatchString(s):
		p := isoDate.FindStringSubmatch(s)
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	case isoSlash.MatchString(s):
		p := isoSlash.FindStringSubmatch(s)
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	case monthFirst.MatchString(s):
		p := monthFirst.FindStringSubmatch(s)
		mon, ok := months[strings.ToLower(p[1])]
		if !ok {
			return time.Time{}, fmt.Errorf("date %q: unknown month", s)
		}
		d, m, y = atoi(p[2]), int(mon), atoi(p[3])
	case numericDate.MatchString(s):
		p := numericDate.FindStringSubmatch(s)
		d, m, y = atoi(p[1]), atoi(p[2]), atoi(p[3])
		if m > 12 && d <= 12 {
			return time.Time{}, fmt.Errorf("date %q: %w", s, ErrAmbiguousDate)
		}
	case wordDate.MatchString(s):
		p := wordDate.FindStringSubmatch(s)
		mon, ok := months[strings.ToLower(p[2])]
		if !ok {
			return time.Time{}, fmt.Errorf("date %q: unknown month", s)
		}
		d, m, y = atoi(p[1]), int(mon), atoi(p[3])
	default:
		return time.Time{}, fmt.Errorf("date %q: not a DD/MM/YYYY date", s)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m || t.Year() != y {
		return time.Time{}, fmt.Errorf("date %q: no such day", s)
	}
	if y < 1900 {
		return time.Time{}, fmt.Errorf("date %q: year out of range", s)
	}
	return t, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// checkMarks are the glyphs forms use for a ticked box.
const checkMarks = "✓✔☑☒✗✘■⊠xX"

// ParseYesNo reads a yes/no value: Yes/No, Y/N, true/false, on/off,
// checkbox export states, a lone tick, and a ticked option of a printed
// "Yes  No" pair ("✓ Yes  No", "☐ Yes ☒ No"). blank is true when nothing
// was chosen (an unticked pair).
func ParseYesNo(s string) (value, blank bool, err error) {
	v := strings.TrimSpace(s)
	switch strings.ToLower(v) {
	case "yes", "y", "true", "on", "1", "ticked", "checked":
		return true, false, nil
	case "no", "n", "false", "off", "0", "unticked", "unchecked":
		return false, false, nil
	case "":
		return false, true, nil
	}
	if len([]rune(v)) == 1 && strings.ContainsRune(checkMarks, []rune(v)[0]) {
		return true, false, nil
	}
	// A printed pair: look for a mark immediately before Yes or No.
	words := strings.FieldsFunc(v, func(r rune) bool { return unicode.IsSpace(r) })
	var sawYes, sawNo bool
	for i, w := range words {
		lw := strings.ToLower(strings.Trim(w, ".:"))
		mark := ""
		if i > 0 {
			mark = words[i-1]
		}
		// The mark may be glued to the word ("✓Yes").
		if r := []rune(lw); len(r) > 1 && strings.ContainsRune(checkMarks, r[0]) && (string(r[1:]) == "yes" || string(r[1:]) == "no") {
			mark, lw = string(r[0]), string(r[1:])
		}
		ticked := len([]rune(mark)) == 1 && strings.ContainsRune("✓✔☑☒✗✘■⊠xX", []rune(mark)[0])
		if opt, ok := gluedOption(strings.Trim(w, ".:")); ok && lw != "yes" && lw != "no" {
			// A mark OCR read as a letter and glued to its option
			// ("MNo" for "☑No"): which mark it was is not known, but
			// the option is there.
			lw, ticked = opt, false
		}
		switch lw {
		case "yes":
			sawYes = true
			if ticked {
				return true, false, nil
			}
		case "no":
			sawNo = true
			if ticked {
				return false, false, nil
			}
		}
	}
	if sawYes && sawNo {
		return false, true, nil
	}
	// An answer with words after it, as people type into a Word form's
	// cell: "Yes.", "Yes - diagnosed in 2018", "No (awaiting assessment)".
	// Only the first word answers, and only when the other never occurs.
	if len(words) > 0 {
		switch strings.ToLower(strings.TrimRight(words[0], ".,;:!-–")) {
		case "yes":
			return true, false, nil
		case "no":
			return false, false, nil
		}
	}
	return false, false, fmt.Errorf("%q is not Yes or No", v)
}

// matchChoice finds the option the text names, tolerant of case, spacing
// and punctuation ("parental responsibility" alone does not match: the
// whole option must be named).
func matchChoice(v string, choices []string) (string, error) {
	// Boxes printed before the options, as a Word form printed to PDF
	// shows them ("☒ Young person (16 or over, with capacity) ☐ Person
	// with parental responsibility ☐ ..."): the one ticked answers.
	if marked := markCheckboxes(v); marked != v &&
		strings.Count(marked, string(docxCheckedMark)) == 1 && strings.ContainsRune(marked, docxEmptyMark) {
		if opt, ok := tickedOption(marked); ok {
			return matchChoice(opt, choices)
		}
	}
	key := choiceKey(v)
	for _, c := range choices {
		if choiceKey(c) == key {
			return c, nil
		}
	}
	// A capital letter for the one option it begins ("M" for Male, "G" for
	// Green, as forms and RAG ratings are often written); a letter two
	// options begin ("N": No or Not assessed) is no answer. Capitals only:
	// a speck in an empty box on a scan reads as a small letter more often.
	if r := []rune(strings.TrimSpace(strings.TrimRight(v, "."))); len(r) == 1 && unicode.IsUpper(r[0]) {
		var found []string
		for _, c := range choices {
			if cr := []rune(c); len(cr) > 0 && unicode.ToLower(cr[0]) == unicode.ToLower(r[0]) {
				found = append(found, c)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		return "", fmt.Errorf("%q is not one of the options", v)
	}
	// A one-word option with words after it, as typed into a Word form's
	// cell ("Red - at high risk of admission"): the first word answers
	// when no other option is named ("Red (was Amber)" is no answer).
	words := strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var named []string
	for _, c := range choices {
		for _, w := range words {
			if !strings.ContainsFunc(c, unicode.IsSpace) && choiceKey(w) == choiceKey(c) {
				named = append(named, c)
				break
			}
		}
	}
	if len(named) == 1 && choiceKey(words[0]) == choiceKey(named[0]) {
		return named[0], nil
	}
	return "", fmt.Errorf("%q is not one of the options", v)
}

func choiceKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormaliseNHSNumber strips the spaces and dashes people write NHS numbers
// with. It does not check the length or the check digit: that is a rule
// (invalid_nhs_number), not a reading problem.
func NormaliseNHSNumber(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '.':
		default:
			return "", fmt.Errorf("%q is not an NHS number", s)
		}
	}
	return b.String(), nil
}

// gluedOption reads a word that is one character, then an option as a
// form prints it ("MNo", "&Yes"): a box OCR read as a letter, with no
// space before its option. option is "yes" or "no".
func gluedOption(w string) (option string, ok bool) {
	_, n := utf8.DecodeRuneInString(w)
	switch w[n:] {
	case "Yes":
		return "yes", n > 0
	case "No":
		return "no", n > 0
	}
	return "", false
}
