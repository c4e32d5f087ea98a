package review

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dsr-intake/parser"
	"dsr-intake/register"
	"dsr-intake/register/store"
)

// scanField is one field of a form read by OCR, as the confirm form
// shows it: the value to check, how sure OCR was, and the piece of the
// page it was read from.
type scanField struct {
	Form       string // "referral" or "consent"
	Name       string
	Label      string
	Value      string // as the coordinator would type it
	Confidence int    // percent; 0 when OCR gave none
	Low        bool   // below parser.OCRMinConfidence: look twice
	Crop       bool
	Tick       bool
	Invalid    bool
	Multiline  bool
}

// scanFields lists the fields of the case's forms read by OCR and not yet
// confirmed, in the order the forms print them.
func scanFields(forms register.CaseForms) []scanField {
	var out []scanField
	for _, f := range []*parser.Form{forms.Referral, forms.Consent} {
		if !f.Unconfirmed() {
			continue
		}
		for _, spec := range parser.Fields(f.Kind) {
			fl, read := f.OCR.Fields[spec.Name]
			if !read && !f.Has(spec.Name) {
				continue
			}
			sf := scanField{Form: string(f.Kind), Name: spec.Name, Label: spec.Label, Value: typedValue(spec, f),
				Confidence: int(fl.Confidence*100 + 0.5), Crop: len(fl.Crop) > 0, Tick: fl.Tick}
			_, sf.Invalid = f.Invalid[spec.Name]
			sf.Multiline = strings.Contains(sf.Value, "\n")
			sf.Low = sf.Invalid || fl.Confidence < parser.OCRMinConfidence
			out = append(out, sf)
		}
	}
	return out
}

// typedValue is a field's value as a person writes it on the form: dates
// DD/MM/YYYY, yes/no as Yes or No, what could not be read as it was read.
func typedValue(spec parser.FieldSpec, f *parser.Form) string {
	if raw, ok := f.Invalid[spec.Name]; ok {
		return raw
	}
	v := f.Get(spec.Name)
	switch spec.Type {
	case parser.Date:
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.Format("02/01/2006")
		}
	case parser.YesNo:
		switch v {
		case "true":
			return "Yes"
		case "false":
			return "No"
		}
	}
	return v
}

// maxScanValue bounds one corrected value.
const maxScanValue = 2000

// scanCrop serves the piece of a scanned page a field was read from,
// like an attachment: signed-in, audited and sandboxed.
func (s *Server) scanCrop(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	kind, name := parser.FormKind(r.PathValue("form")), r.PathValue("field")
	if !ok || (kind != parser.Referral && kind != parser.Consent) {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	c, err := s.store.Case(ctx, id, p.user.Name)
	if err != nil {
		s.actionFailed(w, r, p, "read the case", err)
		return
	}
	f := c.Forms.Referral
	if kind == parser.Consent {
		f = c.Forms.Consent
	}
	if f == nil || f.OCR == nil || len(f.OCR.Fields[name].Crop) == 0 {
		http.NotFound(w, r)
		return
	}
	crop := f.OCR.Fields[name].Crop
	if err := s.store.Note(ctx, store.AuditEntry{Actor: p.user.Name, Action: "scan.crop.view", Entity: "case", EntityID: id,
		CaseRef: c.Ref, Detail: "field=" + string(kind) + "." + name}); err != nil {
		s.fail(w, r, p, "record the view", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Security-Policy", attachmentPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(crop)))
	_, _ = w.Write(crop)
}

// scanConfirm records the coordinator's check of the forms read by OCR:
// the values as corrected go through the rules, and the child is added to
// the register when they pass.
func (s *Server) scanConfirm(w http.ResponseWriter, r *http.Request, p *principal) {
	a, ok := caseAction(r, p, "confirm_scan")
	if !ok {
		http.NotFound(w, r)
		return
	}
	values := map[parser.FormKind]map[string]string{}
	for key, vs := range r.PostForm {
		form, name, ok := strings.Cut(strings.TrimPrefix(key, "scan."), ".")
		if !strings.HasPrefix(key, "scan.") || !ok || len(vs) == 0 {
			continue
		}
		k := parser.FormKind(form)
		if _, known := parser.Spec(k, name); !known || (k != parser.Referral && k != parser.Consent) {
			continue
		}
		v := strings.TrimSpace(vs[0])
		if len(v) > maxScanValue {
			v = v[:maxScanValue]
		}
		if values[k] == nil {
			values[k] = map[string]string{}
		}
		values[k][name] = v
	}
	got, err := s.store.ConfirmScannedForms(r.Context(), store.ScanConfirmation{CaseAction: a, Values: values, Today: time.Now()})
	if err != nil {
		s.actionFailed(w, r, p, "confirm the scanned forms", err)
		return
	}
	done := "scan_confirmed"
	if got.Decision.Outcome == register.OutcomeRegister {
		done = "registered"
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d?done=%s", a.CaseID, done), http.StatusSeeOther)
}
