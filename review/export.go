package review

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"

	"github.com/xuri/excelize/v2"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

var exportHeader = []string{"Record", "NHS number", "First names", "Surname", "Known as", "Date of birth", "Local authority",
	"RAG rating", "Consent basis", "Share: Health", "Share: Education", "Share: Social care", "Share: SELECT", "Share: PSG",
	"Latest C(E)TR", "Key worker allocated", "On the register since", "Last changed"}

// exportRows is the register for the DSR panel, one row a child. The
// export is audited (once, with its format and size) by the store.
func (s *Server) exportRows(ctx context.Context, actor, format string) ([][]string, error) {
	recs, err := s.store.ExportRecords(ctx, actor, format)
	if err != nil {
		return nil, err
	}
	rows := [][]string{exportHeader}
	yn := map[bool]string{true: "Yes", false: "No"}
	for _, rec := range recs {
		dates, err := s.store.RecordDates(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		cetr, kw := "", ""
		for _, d := range dates {
			if d.Kind == store.DateCETR {
				cetr = d.Date
			} else if d.Kind == store.DateKeyWorker {
				kw = d.Date
			}
		}
		// The register's actions carry the dates now; the latest of
		// either source stands.
		acts, err := s.store.RecordActions(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range acts {
			switch {
			case a.Kind == register.ActionCETR && a.On > cetr:
				cetr = a.On
			case a.Kind == register.ActionKeyWorker && a.On > kw:
				kw = a.On
			}
		}
		sh := rec.Consent.Sharing
		rows = append(rows, []string{itoa(rec.ID), rec.NHSNumber, rec.FirstNames, rec.Surname, rec.KnownAs, rec.DateOfBirth,
			rec.Referral["cyp_local_authority"], rec.RAG, rec.Consent.Basis, yn[sh["health"]], yn[sh["education"]],
			yn[sh["social_care"]], yn[sh["select"]], yn[sh["psg"]], cetr, kw,
			rec.CreatedAt.In(london).Format("2006-01-02"), rec.UpdatedAt.In(london).Format("2006-01-02")})
	}
	return rows, nil
}

// safeCell stops a spreadsheet from reading a value as a formula (CSV
// injection): a leading = + - @ or control character gets a quote before it.
func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) exportName(ext string) string {
	return "dsr-register-" + s.now().In(london).Format("2006-01-02") + "." + ext
}

func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, p *principal) {
	if !s.mayExport(p) {
		s.forbidden(w, r, p, store.RoleCoordinator)
		return
	}
	rows, err := s.exportRows(r.Context(), p.user.Name, "csv")
	if err != nil {
		s.fail(w, r, p, "export the register", err)
		return
	}
	var buf bytes.Buffer
	// A byte-order mark, so that Excel on Windows reads the file as UTF-8
	// ("Novák", not "NovÃ¡k").
	buf.WriteString(utf8BOM)
	cw := csv.NewWriter(&buf)
	for _, row := range rows {
		out := make([]string, len(row))
		for i, v := range row {
			out[i] = safeCell(v)
		}
		_ = cw.Write(out)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.fail(w, r, p, "export the register", err)
		return
	}
	download(w, "text/csv; charset=utf-8", s.exportName("csv"), buf.Bytes())
}

func (s *Server) exportXLSX(w http.ResponseWriter, r *http.Request, p *principal) {
	if !s.mayExport(p) {
		s.forbidden(w, r, p, store.RoleCoordinator)
		return
	}
	rows, err := s.exportRows(r.Context(), p.user.Name, "xlsx")
	if err != nil {
		s.fail(w, r, p, "export the register", err)
		return
	}
	b, err := xlsxBytes(rows)
	if err != nil {
		s.fail(w, r, p, "export the register", err)
		return
	}
	download(w, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", s.exportName("xlsx"), b)
}

// xlsxBytes writes the rows as one sheet, every cell a string (so no value
// is ever taken as a formula), with the header row frozen.
func xlsxBytes(rows [][]string) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Register"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	for i, row := range rows {
		cells := make([]any, len(row))
		for j, v := range row {
			cells[j] = excelize.Cell{Value: v}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			return nil, fmt.Errorf("xlsx: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

func download(w http.ResponseWriter, contentType, name string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Security-Policy", attachmentPolicy)
	_, _ = w.Write(b)
}
