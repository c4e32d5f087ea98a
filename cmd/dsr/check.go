package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"dsr-intake/config"
	"dsr-intake/parser"
	"dsr-intake/register"
)

// checkResult is one line of `dsr check --json`.
type checkResult struct {
	File        string            `json:"file"`
	MessageID   string            `json:"message_id"`
	Outcome     register.Outcome  `json:"outcome"`
	Reasons     []register.Reason `json:"reasons"`
	Referral    map[string]any    `json:"referral,omitempty"`
	Consent     map[string]any    `json:"consent,omitempty"`
	Invalid     map[string]any    `json:"invalid,omitempty"`
	OCR         map[string]any    `json:"ocr,omitempty"` // per form read from a scan: fields' confidence and boxes
	Attachments []checkAttachment `json:"attachments"`
	Problems    []string          `json:"problems,omitempty"`
	// Automatic says why the email was taken for a machine's (an
	// auto-reply, a bounce); Undelivered names the Message-IDs a bounce
	// returns, which the daemon would mark as queries not received.
	Automatic   string   `json:"automatic,omitempty"`
	Undelivered []string `json:"undelivered,omitempty"`
}

type checkAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Kind        string `json:"kind"`
	Error       string `json:"error,omitempty"`
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE` (for the form mapping and limits)")
	todayFlag := fs.String("today", "", "judge dates against this day, `YYYY-MM-DD` (default: today)")
	asJSON := fs.Bool("json", false, "print one JSON object per email (JSON Lines)")
	showFields := fs.Bool("fields", false, "also print the fields read (personal data: use with care)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "dsr check: name at least one .eml file")
		return 2
	}
	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, "dsr check:", err)
			return 2
		}
		cfg = c
	}
	today := time.Now()
	if *todayFlag != "" {
		t, err := time.Parse(time.DateOnly, *todayFlag)
		if err != nil {
			fmt.Fprintf(stderr, "dsr check: --today %q is not YYYY-MM-DD\n", *todayFlag)
			return 2
		}
		today = t
	}
	p, _, err := newParser(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "dsr check:", err)
		return 2
	}
	failed := 0
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for r := range checkFiles(ctx, p, fs.Args(), today) {
		file, res, err := r.file, r.res, r.err
		if err != nil {
			fmt.Fprintf(stderr, "dsr check: %s: %v\n", file, err)
			failed++
			continue
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				fmt.Fprintln(stderr, "dsr check:", err)
				return 1
			}
			continue
		}
		printSummary(stdout, res, *showFields)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// newParser builds the parser the configuration describes. PDFs are read
// in a child process of this binary unless isolation is turned off. noOCR
// says why scans will not be read ("" when they will).
func newParser(cfg *config.Config) (p *parser.Parser, noOCR string, err error) {
	m, err := cfg.Mapping()
	if err != nil {
		return nil, "", err
	}
	lim := cfg.ParserLimits()
	opts := parser.Options{Mapping: m, Limits: lim}
	opts.OCR, noOCR = scanReader(context.Background())
	if cfg.Limits.IsolatePDF == nil || *cfg.Limits.IsolatePDF {
		self, err := os.Executable()
		if err != nil {
			return nil, "", fmt.Errorf("find own binary for the PDF reader: %w", err)
		}
		// The child reads the same configuration, so operators' label
		// mappings and limits apply to flattened PDFs too.
		args := []string{self, "parse-pdf"}
		if cfg.Path != "" {
			args = append(args, "--config", cfg.Path)
		}
		opts.PDF = parser.NewChildPDFReader(args, lim)
		if opts.OCR != nil {
			// The child reads scans too, under the same limits, with
			// the tools found here: looking for them again ran
			// tesseract --list-langs at every child's start, 24 ms of
			// CPU, more than the child's own start (13 ms).
			opts.PDF = parser.NewChildOCRReader(append(args, ocrToolArgs(opts.OCR)...), lim)
		}
	}
	return parser.New(opts), noOCR, nil
}

// ocrToolArgs are the parse-pdf flags that hand the child the OCR tools
// o names, so that it does not look for them again.
func ocrToolArgs(o *parser.OCR) []string {
	args := []string{"--ocr", "--tesseract", o.Tesseract, "--convert", o.Convert, "--pdftoppm", o.PDFToPPM}
	if o.HeifConvert != "" {
		args = append(args, "--heif-convert", o.HeifConvert)
	}
	return args
}

// ocrToolFlags are parse-pdf's flags on reading scans.
type ocrToolFlags struct {
	on    *bool
	tools parser.OCR
}

func addOCRToolFlags(fs *flag.FlagSet) *ocrToolFlags {
	f := &ocrToolFlags{on: fs.Bool("ocr", false, "also read scans and images by OCR")}
	fs.StringVar(&f.tools.Tesseract, "tesseract", "", "with --ocr: tesseract as the parent found it (`PATH`); not given: looked for")
	fs.StringVar(&f.tools.Convert, "convert", "", "with --tesseract: ImageMagick's convert (`PATH`)")
	fs.StringVar(&f.tools.PDFToPPM, "pdftoppm", "", "with --tesseract: poppler's pdftoppm (`PATH`)")
	fs.StringVar(&f.tools.HeifConvert, "heif-convert", "", "with --tesseract: heif-convert (`PATH`), if installed")
	return f
}

// reader is the OCR the child reads scans with: nil without --ocr; the
// tools named when the parent named them (it checked them and
// Tesseract's languages at its start); else what is found here.
func (f *ocrToolFlags) reader(ctx context.Context) *parser.OCR {
	switch {
	case !*f.on:
		return nil
	case f.tools.Tesseract != "":
		o := f.tools
		return &o
	}
	o, _ := scanReader(ctx)
	return o
}

type checked struct {
	file string
	res  *checkResult
	err  error
}

// checkFiles checks up to one file per CPU at once and yields the results
// in the files' order. One email's forms are already read in parallel,
// but with one email at a time the PDF readers idle while this process
// reads the next email and decides on the last.
func checkFiles(ctx context.Context, p *parser.Parser, files []string, today time.Time) <-chan checked {
	out := make(chan checked)
	pending := make(chan chan checked, runtime.NumCPU())
	go func() {
		defer close(pending)
		for _, f := range files {
			c := make(chan checked, 1)
			pending <- c // waits while NumCPU files are being checked
			go func() {
				res, err := checkFile(ctx, p, f, today)
				c <- checked{f, res, err}
			}()
		}
	}()
	go func() {
		defer close(out)
		for c := range pending {
			out <- <-c
		}
	}()
	return out
}

func checkFile(ctx context.Context, p *parser.Parser, file string, today time.Time) (*checkResult, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sub, err := p.Parse(ctx, raw)
	if err != nil {
		return nil, err
	}
	d := register.Assess(register.Input{Submission: sub, Today: today})
	res := &checkResult{
		File:        file,
		MessageID:   sub.MessageID,
		Outcome:     d.Outcome,
		Reasons:     d.Reasons,
		Referral:    formJSON(sub.Referral),
		Consent:     formJSON(sub.Consent),
		OCR:         ocrJSON(sub.Referral, sub.Consent),
		Attachments: []checkAttachment{},
		Problems:    sub.Problems,
		Automatic:   sub.AutoReplyReason,
		Undelivered: sub.Undelivered,
	}
	if res.Reasons == nil {
		res.Reasons = []register.Reason{}
	}
	inv := map[string]any{}
	for _, f := range []*parser.Form{sub.Referral, sub.Consent} {
		if f != nil && len(f.Invalid) > 0 {
			m := map[string]any{}
			for k, v := range f.Invalid {
				m[k] = v
			}
			inv[string(f.Kind)] = m
		}
	}
	if len(inv) > 0 {
		res.Invalid = inv
	}
	for _, a := range sub.Attachments {
		res.Attachments = append(res.Attachments, checkAttachment{
			Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Kind: string(a.Kind), Error: a.Error,
		})
	}
	return res, nil
}

// formJSON gives a form's values in JSON types: yes/no as booleans, the
// rest as the normalised strings.
func formJSON(f *parser.Form) map[string]any {
	if f == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range f.Values {
		spec, _ := parser.Spec(f.Kind, k)
		if spec.Type == parser.YesNo {
			out[k] = v == "true"
			continue
		}
		out[k] = v
	}
	return out
}

func printSummary(w io.Writer, r *checkResult, fields bool) {
	fmt.Fprintf(w, "%s\n", r.File)
	fmt.Fprintf(w, "  outcome: %s\n", strings.ToUpper(string(r.Outcome)))
	if r.Automatic != "" {
		fmt.Fprintf(w, "  automatic: %s\n", r.Automatic)
	}
	for _, id := range r.Undelivered {
		fmt.Fprintf(w, "  returns undelivered: <%s>\n", id)
	}
	if len(r.Attachments) == 0 {
		fmt.Fprintln(w, "  attachments: none")
	}
	for _, a := range r.Attachments {
		fmt.Fprintf(w, "  attachment: %s (%s, %s): %s", a.Filename, a.ContentType, humanSize(a.Size), a.Kind)
		if a.Error != "" {
			fmt.Fprintf(w, ": %s", a.Error)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  referral form: %s\n", formSummary(r.Referral))
	fmt.Fprintf(w, "  consent form: %s\n", formSummary(r.Consent))
	for _, k := range []string{"referral", "consent"} {
		if o, ok := r.OCR[k].(map[string]any); ok {
			fmt.Fprintf(w, "  %s form: read by OCR from a scan (%d fields): a coordinator confirms it\n", k, len(o["fields"].(map[string]any)))
			if fields {
				fs := o["fields"].(map[string]any)
				names := make([]string, 0, len(fs))
				for n := range fs {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fl := fs[n].(parser.OCRField)
					fmt.Fprintf(w, "    ocr %s.%s: confidence %.2f, page %d, box %v\n", k, n, fl.Confidence, fl.Page, fl.Box)
				}
			}
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if len(r.Reasons) == 0 {
		fmt.Fprintln(w, "  reasons: none, every rule holds")
	}
	for _, rs := range r.Reasons {
		fmt.Fprintf(w, "  - %s\n      %s\n", rs.Code, rs.Message)
	}
	if fields {
		for _, f := range []struct {
			name string
			m    map[string]any
		}{{"referral", r.Referral}, {"consent", r.Consent}, {"invalid", r.Invalid}} {
			keys := make([]string, 0, len(f.m))
			for k := range f.m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "    %s.%s = %v\n", f.name, k, strings.ReplaceAll(fmt.Sprint(f.m[k]), "\n", " / "))
			}
		}
	}
	fmt.Fprintln(w)
}

func formSummary(m map[string]any) string {
	if m == nil {
		return "not found"
	}
	return fmt.Sprintf("found, %d fields filled in", len(m))
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// cmdParsePDF is the PDF reader's child process: one PDF on stdin, the
// forms found as JSON on stdout, under the configuration's limits.
func cmdParsePDF(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parse-pdf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `FILE`")
	ocrFlags := addOCRToolFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, "dsr parse-pdf:", err)
			return 2
		}
		cfg = c
	}
	m, err := cfg.Mapping()
	if err != nil {
		fmt.Fprintln(stderr, "dsr parse-pdf:", err)
		return 2
	}
	o := ocrFlags.reader(ctx)
	if err := parser.ServePDFChildOCR(ctx, stdin, stdout, cfg.ParserLimits(), m, o); err != nil {
		fmt.Fprintln(stderr, "dsr parse-pdf:", err)
		return 1
	}
	return 0
}
