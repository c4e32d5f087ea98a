package parser

import (
	"bytes"
	"context"
	"fmt"
)

// The text model the Rich Text and OpenDocument readers fill (rtf.go,
// odt.go), the model of a .doc's text (doc.go), so that docWordML writes
// all three as the WordprocessingML the DOCX reader reads.

// readTextModel reads the forms in a text model (an RTF's or an ODF
// document's) by writing it as WordprocessingML for the DOCX reader.
func readTextModel(ctx context.Context, m *textModel, source string) ([]*RawForm, error) {
	fcs := make([]uint32, len(m.text))
	for i := range fcs {
		fcs[i] = uint32(i)
	}
	xmlDoc, formFields, err := docWordML(m.text, fcs, m.marks, m.headings,
		func(begin, _ int) *docFormField { return m.fields[begin] },
		func(i int) bool { return i < len(m.deleted) && m.deleted[i] })
	if err != nil {
		return nil, err
	}
	if formFields {
		return nil, unreadable(reasonDOCXUnsupported, fmt.Errorf("%s: a check box or drop-down without its state", source))
	}
	return readWordML(ctx, xmlDoc, source)
}

// readWordML reads the forms in the WordprocessingML docWordML wrote for
// a document of another format (source: "doc", "rtf", "odt"), with the
// DOCX reader's rules.
func readWordML(ctx context.Context, xmlDoc []byte, source string) ([]*RawForm, error) {
	d := newDOCXReader(ctx)
	if err := d.readDocument(bytes.NewReader(xmlDoc)); err != nil {
		return nil, unreadable(reasonDOCXDamaged, fmt.Errorf("%s: %w", source, err))
	}
	for _, f := range d.forms {
		f.rf.Source = source
	}
	return d.result(), nil
}

// textModel is a document's text in the model of a .doc's: characters,
// a mark at each paragraph, cell and row end with its properties, fields
// (0x13, a picture character 0x01, instructions, 0x14, result, 0x15)
// with the state of form fields by the field's begin, deleted text.
type textModel struct {
	text     []rune
	marks    []docParaRun // one for each paragraph, cell and row mark
	headings map[uint16]bool
	fields   map[int]*docFormField // by the index of the field's begin
	deleted  []bool                // by index, once any text is deleted
}
