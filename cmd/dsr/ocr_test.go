package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"mime/multipart"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dsr-intake/config"
	"dsr-intake/parser"
)

// TestCheckScans runs `dsr check --json` over the generated scans, read by
// OCR in the parse-pdf child as the daemon reads them: no case goes to the
// register. A typed scan goes to review as confirm_scanned_form, each form
// carrying its "ocr" object with a confidence per field; a scan with
// handwritten values (its NAME.json says so) goes to review as
// confirm_scanned_form or unreadable_attachment, whatever OCR made of it.
func TestCheckScans(t *testing.T) {
	if _, err := parser.FindOCR(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI must run the OCR tests", err)
		}
		t.Skipf("%v (run scripts/install-test-deps.sh)", err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "parser", "testdata", "ocr", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OCR fixtures: %v", err)
	}
	// A loaded machine (CI shares its cores) needs more than the default.
	for i, line := range checkOCR(t, files...) {
		var got struct {
			Outcome string `json:"outcome"`
			Reasons []struct {
				Code string `json:"code"`
			} `json:"reasons"`
			OCR map[string]struct {
				Pages  int `json:"pages"`
				Fields map[string]struct {
					Confidence float64 `json:"confidence"`
					Page       int     `json:"page"`
					Box        [4]int  `json:"box"`
					Crop       []byte  `json:"crop"`
				} `json:"fields"`
			} `json:"ocr"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		var codes []string
		for _, r := range got.Reasons {
			codes = append(codes, r.Code)
		}
		name := filepath.Base(files[i])
		var want struct {
			Handwritten bool `json:"handwritten"`
		}
		if raw, err := os.ReadFile(strings.TrimSuffix(files[i], ".eml") + ".json"); err != nil {
			t.Fatalf("%s has no expectations: %v", name, err)
		} else if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
		if want.Handwritten {
			if got.Outcome != "review" || !slices.Contains(codes, "confirm_scanned_form") && !slices.Contains(codes, "unreadable_attachment") {
				t.Errorf("%s (handwritten): %s %v, want review with confirm_scanned_form or unreadable_attachment", name, got.Outcome, codes)
			}
			continue
		}
		if got.Outcome != "review" || !slices.Contains(codes, "confirm_scanned_form") {
			t.Errorf("%s: %s %v, want review with confirm_scanned_form", name, got.Outcome, codes)
		}
		for _, k := range []string{"referral", "consent"} {
			o, ok := got.OCR[k]
			if !ok || o.Pages == 0 || len(o.Fields) < 5 {
				t.Errorf("%s: no ocr object for the %s form: %+v", name, k, o)
				continue
			}
			nhs := o.Fields["cyp_nhs_number"]
			if nhs.Confidence <= 0 || nhs.Page != 1 || nhs.Box[2] == 0 {
				t.Errorf("%s: %s NHS number without confidence or box: %+v", name, k, nhs)
			}
			if len(nhs.Crop) > 0 {
				t.Errorf("%s: dsr check prints the crop images", name)
			}
		}
	}
}

// TestConfigCheckScans: dsr config check says whether scanned forms will
// be read, and a configuration without the OCR tools is still valid.
func TestConfigCheckScans(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "imap-password")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "[imap]\naddr = \"mail.example:993\"\nusername = \"u\"\npassword = { file = \""+pw+"\" }\n")
	check := func() (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"config", "check", "--config", cfg}, nil, &out, &out)
		return code, out.String()
	}
	if _, err := parser.FindOCR(context.Background()); err == nil {
		if code, out := check(); code != 0 || !strings.Contains(out, "scanned forms: read by OCR with") {
			t.Errorf("with the tools: exit %d, output %q", code, out)
		}
	}
	t.Setenv("PATH", t.TempDir()) // no tesseract, convert or pdftoppm
	code, out := check()
	if code != 0 || !strings.Contains(out, "scanned forms: will not be read") || !strings.Contains(out, "tesseract (tesseract-ocr)") || !strings.Contains(out, "configuration OK") {
		t.Errorf("without the tools: exit %d, output %q; want OK, saying scans will not be read and what to install", code, out)
	}
}

// TestStartWithoutOCR: without the OCR tools the daemon still starts, and
// says once, at start, that scanned forms will not be read and why.
func TestStartWithoutOCR(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "imap-password")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(testConfig(t, "[imap]\naddr = \"mail.example:993\"\nusername = \"u\"\npassword = { file = \""+pw+"\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no tesseract, convert or pdftoppm
	var logs bytes.Buffer
	a, err := newApp(context.Background(), cfg, &logs, false)
	if err != nil {
		t.Fatalf("the daemon does not start without the OCR tools: %v", err)
	}
	defer a.Close()
	if n := strings.Count(logs.String(), "scanned forms will not be read"); n != 1 || !strings.Contains(logs.String(), "tesseract-ocr") {
		t.Errorf("%d warnings that scans will not be read, want 1 naming what to install:\n%s", n, logs.String())
	}
}

// TestChildGetsParentsOCRTools: the PDF reader's child is handed the OCR
// tools the parent found, and uses them without looking again (no
// tesseract --list-langs at every child's start); without them it looks.
func TestChildGetsParentsOCRTools(t *testing.T) {
	want := parser.OCR{Tesseract: "/opt/t/tesseract", Convert: "/opt/t/convert", PDFToPPM: "/opt/t/pdftoppm", HeifConvert: "/opt/t/heif-convert"}
	for _, o := range []parser.OCR{want, {Tesseract: want.Tesseract, Convert: want.Convert, PDFToPPM: want.PDFToPPM}} {
		fs := flag.NewFlagSet("parse-pdf", flag.ContinueOnError)
		f := addOCRToolFlags(fs)
		if err := fs.Parse(ocrToolArgs(&o)); err != nil {
			t.Fatal(err)
		}
		// None of these paths exists: a look would find other tools or
		// none.
		got := f.reader(context.Background())
		if got == nil || *got != o {
			t.Errorf("child's OCR %+v, want %+v", got, o)
		}
	}
	fs := flag.NewFlagSet("parse-pdf", flag.ContinueOnError)
	f := addOCRToolFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if got := f.reader(context.Background()); got != nil {
		t.Errorf("OCR %+v without --ocr", got)
	}
	t.Setenv("PATH", t.TempDir()) // no tools to find
	fs = flag.NewFlagSet("parse-pdf", flag.ContinueOnError)
	f = addOCRToolFlags(fs)
	if err := fs.Parse([]string{"--ocr"}); err != nil {
		t.Fatal(err)
	}
	if got := f.reader(context.Background()); got != nil {
		t.Errorf("--ocr alone found %+v on an empty PATH: it did not look", got)
	}
}

// TestCheckFormsThroughPostScript runs `dsr check --json`, with the PDFs
// read in the parse-pdf child as the daemon reads them, over a sample
// whose forms were printed to a PostScript file and made PDFs again with
// Ghostscript (pdf2ps, ps2pdf), which loses their fonts' character maps:
// the child refuses their text and reads them by OCR, so the case goes to
// a coordinator to confirm, never to a query for forms the referrer sent.
func TestCheckFormsThroughPostScript(t *testing.T) {
	if _, err := parser.FindOCR(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI must run the OCR tests", err)
		}
		t.Skipf("%v (run scripts/install-test-deps.sh)", err)
	}
	for _, tool := range []string{"pdf2ps", "ps2pdf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/install-test-deps.sh installs ghostscript)", tool)
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "samples", "02-flattened-pdf-happy", "message.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := parser.New(parser.Options{}).Parse(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}})
	pdfs := 0
	for _, a := range sub.Attachments {
		if a.ContentType != "application/pdf" {
			continue
		}
		pdfs++
		in, ps, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "form.ps"), filepath.Join(dir, "out.pdf")
		if err := os.WriteFile(in, a.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]string{{"pdf2ps", in, ps}, {"ps2pdf", ps, out}} {
			if b, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c[0], err, b)
			}
		}
		printed, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {"application/pdf"},
			"Content-Disposition":       {`attachment; filename="` + a.Filename + `"`},
			"Content-Transfer-Encoding": {"base64"},
		})
		enc := base64.StdEncoding.EncodeToString(printed)
		for len(enc) > 76 {
			pw.Write([]byte(enc[:76] + "\r\n"))
			enc = enc[76:]
		}
		pw.Write([]byte(enc + "\r\n"))
	}
	mw.Close()
	if pdfs != 2 {
		t.Fatalf("%d PDFs in the sample", pdfs)
	}
	eml := filepath.Join(dir, "printed.eml")
	head := "From: " + sub.From + "\r\nTo: bromley.dsr@nhs.net\r\nSubject: " + sub.Subject + "\r\nMessage-ID: <postscript@nhs.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + mw.Boundary() + "\r\n\r\n"
	if err := os.WriteFile(eml, append([]byte(head), body.Bytes()...), 0o600); err != nil {
		t.Fatal(err)
	}
	line := checkOCR(t, eml)[0]
	var got struct {
		Outcome string `json:"outcome"`
		Reasons []struct {
			Code string `json:"code"`
		} `json:"reasons"`
		OCR map[string]struct {
			Pages int `json:"pages"`
		} `json:"ocr"`
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	var codes []string
	for _, r := range got.Reasons {
		codes = append(codes, r.Code)
	}
	if got.Outcome != "review" || !slices.Contains(codes, "confirm_scanned_form") ||
		slices.Contains(codes, "missing_referral_form") || slices.Contains(codes, "missing_consent_form") {
		t.Errorf("%s %v, want review with confirm_scanned_form and no form missing", got.Outcome, codes)
	}
	for _, k := range []string{"referral", "consent"} {
		if got.OCR[k].Pages == 0 {
			t.Errorf("the %s form was not read by OCR: %+v", k, got.OCR)
		}
	}
}

// checkOCR runs dsr check --json on files, OCR's time limit raised for a
// busy machine, and returns its JSON line for each.
func checkOCR(t *testing.T, files ...string) []string {
	t.Helper()
	cfg := testConfig(t, "[limits]\nocr_timeout = \"15m\"\n")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"check", "--json", "--today", "2026-11-25", "--config", cfg}, files...), nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines of JSON for %d files", len(lines), len(files))
	}
	return lines
}
