package review

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"dsr-intake/parser"
	"dsr-intake/register/store"
)

// servedType is the Content-Type an attachment is served with: what its
// bytes are, never what the sender declared, and never anything a browser
// would run (HTML, SVG, XML): those go out as bytes to download.
func servedType(a parser.Attachment) string {
	if a.Detected == "pdf" {
		return "application/pdf"
	}
	if a.Data != nil {
		switch ct := http.DetectContentType(a.Data); ct {
		case "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp":
			return ct
		}
	}
	return "application/octet-stream"
}

// attachmentPolicy sandboxes whatever the browser does with an attachment:
// no script, no plugins, no requests, no same-origin access.
const attachmentPolicy = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

// attachment serves one attachment of a case's email, inline when it is an
// image (?download=1 to save it) and as a download otherwise. The opening
// is audited.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := pathID(r)
	n, err := strconv.Atoi(r.PathValue("n"))
	hash := r.PathValue("hash")
	if !ok || err != nil || n < 0 || len(hash) != 64 {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	msgs, err := s.store.CaseMessages(ctx, id)
	if err != nil {
		s.fail(w, r, p, "read the case's emails", err)
		return
	}
	var ref string
	found := false
	for _, m := range msgs {
		if m.Hash == hash {
			found, ref = true, m.CaseRef
		}
	}
	if !found {
		http.NotFound(w, r)
		return
	}
	sub, err := s.readStored(ctx, hash)
	if errors.Is(err, errErased) || errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, p, "read the stored email", err)
		return
	}
	if n >= len(sub.Attachments) || sub.Attachments[n].Data == nil {
		http.NotFound(w, r)
		return
	}
	a := sub.Attachments[n]
	if err := s.store.Note(ctx, store.AuditEntry{Actor: p.user.Name, Action: "attachment.view", Entity: "case", EntityID: id,
		CaseRef: ref, Detail: fmt.Sprintf("attachment=%d", n)}); err != nil {
		s.fail(w, r, p, "record the view", err)
		return
	}
	ct := servedType(a)
	disp := "attachment"
	if strings.HasPrefix(ct, "image/") && r.URL.Query().Get("download") == "" {
		disp = "inline"
	}
	name := a.Filename
	if name == "" {
		name = "attachment-" + strconv.Itoa(n)
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", attachmentPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	_, _ = w.Write(a.Data)
}
