package parser

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

func TestZZScratch(t *testing.T) {
	path := os.Getenv("SCRATCH")
	if path == "" {
		t.Skip()
	}
	o, err := FindOCR(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	r := withOCR(NewInProcessPDFReader(Limits{}), o, Limits{}, nil)
	forms, err := r.ReadPDF(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	m := DefaultMapping()
	for _, rf := range forms {
		for _, lv := range rf.ByLabel {
			t.Logf("%q => %q", lv.Label, lv.Value)
		}
		f := m.Map(m.Classify(rf), rf)
		f.OCR = rf.OCR.forForm(f)
		b, _ := json.MarshalIndent(f, "", " ")
		t.Logf("%s", b)
	}
}
