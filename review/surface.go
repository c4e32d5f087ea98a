package review

import (
	"io/fs"
	"net/http"
)

// Protect wraps a handler in the pages' security headers, with HSTS when
// the cookies are Secure (the pages are then served over TLS, and a
// browser should never try them over plain HTTP). The daemon wraps what it
// serves beside the pages (/healthz, /readyz) in it too.
func (s *Server) Protect(h http.Handler) http.Handler {
	h = securityHeaders(h)
	if !s.secure {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// filesOnly serves an embedded folder's files and none of its folders:
// http.FileServer lists a folder it is asked for, which would tell anyone
// what the pages are built from.
type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}
