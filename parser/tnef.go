package parser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/emersion/go-message/charset"
)

// Outlook, sending in its "Rich Text" format, wraps a message's
// attachments in winmail.dat: a TNEF stream (MS-OXTNEF). A referrer on
// such a setup sends the forms inside it; the peers that read them (the
// tnef tool Debian packages, Python's tnefparse) unwrap it, and so do we.
// No Go module for TNEF is served by the module proxy here, so this is a
// small reader of the format's attachment attributes, bounded by the
// stream it is given: every value is a slice of it, nothing is inflated.

// tnefSignature opens every TNEF stream (0x223E9F78, little-endian).
var tnefSignature = []byte{0x78, 0x9f, 0x3e, 0x22}

// isTNEF recognises a TNEF stream by its signature.
func isTNEF(d []byte) bool { return bytes.HasPrefix(d, tnefSignature) }

// TNEF attribute levels and the attributes an attachment is made of.
const (
	tnefLevelMessage    = 0x01
	tnefLevelAttachment = 0x02

	attAttachRendData = 0x00069002 // opens each attachment
	attAttachTitle    = 0x00018010 // its (often 8.3) file name
	attAttachData     = 0x0006800f // its bytes
	attAttachment     = 0x00069005 // its MAPI properties
)

// MAPI properties of an attachment, and the property types' codes.
const (
	prAttachDataBin      = 0x3701 // the file's bytes (PT_BINARY) or an embedded object (PT_OBJECT)
	prAttachFilename     = 0x3704 // 8.3 name
	prAttachLongFilename = 0x3707
	prDisplayName        = 0x3001

	ptShort    = 0x0002
	ptLong     = 0x0003
	ptFloat    = 0x0004
	ptDouble   = 0x0005
	ptCurrency = 0x0006
	ptAppTime  = 0x0007
	ptError    = 0x000a
	ptBoolean  = 0x000b
	ptObject   = 0x000d
	ptI8       = 0x0014
	ptString8  = 0x001e
	ptUnicode  = 0x001f
	ptSysTime  = 0x0040
	ptCLSID    = 0x0048
	ptBinary   = 0x0102
	ptMulti    = 0x1000
)

// tnefFile is one attachment taken out of a TNEF stream.
type tnefFile struct {
	name string
	data []byte
}

// maxTNEFDepth bounds embedded messages inside embedded messages.
const maxTNEFDepth = 3

var errNotTNEF = errors.New("not a TNEF stream")

// readTNEF lists the files in a TNEF stream, at most max of them. The
// attribute checksums are not checked: Outlook's writers get them right,
// and a wrong one costs less than a lost form (the bytes are read as
// sent; the form reader judges them), nor are a few stray bytes after the
// last attribute. A damaged stream gives the files read before the damage,
// with the error.
func readTNEF(d []byte, max int) ([]tnefFile, error) {
	return readTNEFDepth(d, max, 0)
}

func readTNEFDepth(d []byte, max, depth int) ([]tnefFile, error) {
	if !isTNEF(d) {
		return nil, errNotTNEF
	}
	if len(d) < 6 {
		return nil, errors.New("tnef: no key after the signature")
	}
	var files []tnefFile
	var cur *tnefFile
	var title string // attAttachTitle, used when no long name comes
	damaged := false
	flush := func() {
		if cur == nil {
			return
		}
		if damaged && len(cur.data) == 0 {
			return // cut before its bytes: the problem noted says so
		}
		if cur.name == "" {
			cur.name = title
		}
		if cur.name != "" || len(cur.data) > 0 {
			files = append(files, *cur)
		}
		cur, title = nil, ""
	}
	p := d[6:]
	for len(p) > 0 {
		if len(files) >= max {
			return files, nil
		}
		if len(p) < 9 {
			if len(p) < len(d)-6 {
				// After whole attributes: padding or a stray byte, which
				// the tnef tool warns of and reads past too.
				break
			}
			damaged = true
			flush()
			return files, fmt.Errorf("tnef: %d stray bytes at the end", len(p))
		}
		level, id, n := p[0], binary.LittleEndian.Uint32(p[1:5]), binary.LittleEndian.Uint32(p[5:9])
		if level != tnefLevelMessage && level != tnefLevelAttachment {
			damaged = true
			flush()
			return files, fmt.Errorf("tnef: attribute level %#x at offset %d", level, len(d)-len(p))
		}
		if uint64(n)+11 > uint64(len(p)) {
			damaged = true
			flush()
			return files, fmt.Errorf("tnef: attribute %#x of %d bytes runs past the end", id, n)
		}
		val := p[9 : 9+n]
		p = p[9+n+2:] // the value, then its checksum
		if level != tnefLevelAttachment {
			continue
		}
		switch id {
		case attAttachRendData:
			flush()
			cur = &tnefFile{}
		case attAttachTitle:
			if cur == nil {
				cur = &tnefFile{}
			}
			title = tnefString8(val)
		case attAttachData:
			if cur == nil {
				cur = &tnefFile{}
			}
			cur.data = val
		case attAttachment:
			if cur == nil {
				cur = &tnefFile{}
			}
			props, err := readMAPIProps(val)
			if err != nil {
				// The name and bytes may have come already as attributes.
				continue
			}
			if name := props.name(); name != "" {
				cur.name = name
			}
			if b, ok := props.binary[prAttachDataBin]; ok && len(cur.data) == 0 {
				cur.data = b
			}
			if obj, ok := props.object[prAttachDataBin]; ok && len(cur.data) == 0 {
				if isTNEF(obj) {
					// An embedded Outlook message: its attachments are the
					// forwarded message's, as with message/rfc822.
					if depth < maxTNEFDepth {
						inner, _ := readTNEFDepth(obj, max-len(files), depth+1)
						files = append(files, inner...)
					}
				} else {
					// An embedded OLE object (a Word document pasted into
					// the message): the file is its storage.
					cur.data = obj
				}
			}
		}
	}
	flush()
	return files, nil
}

// mapiProps holds the few properties of an attachment that matter here.
type mapiProps struct {
	strings map[uint16]string
	binary  map[uint16][]byte
	object  map[uint16][]byte
}

func (m *mapiProps) name() string {
	for _, id := range []uint16{prAttachLongFilename, prDisplayName, prAttachFilename} {
		if s := m.strings[id]; s != "" {
			return s
		}
	}
	return ""
}

// readMAPIProps reads an attAttachment value: a count, then properties,
// each a type, an id, a name when the id is a named property's, and its
// value or values, every value padded to four bytes.
func readMAPIProps(d []byte) (*mapiProps, error) {
	r := &tnefReader{d: d}
	count := r.u32()
	m := &mapiProps{strings: map[uint16]string{}, binary: map[uint16][]byte{}, object: map[uint16][]byte{}}
	for i := uint32(0); i < count && r.err == nil; i++ {
		typ, id := r.u16(), r.u16()
		if id >= 0x8000 {
			r.skip(16) // the property set's GUID
			if kind := r.u32(); kind == 0 {
				r.skip(4)
			} else {
				r.skip(pad4(r.u32()))
			}
		}
		multi := typ&ptMulti != 0
		typ &^= ptMulti
		vals := uint32(1)
		switch {
		case multi, typ == ptString8, typ == ptUnicode, typ == ptBinary, typ == ptObject:
			vals = r.u32()
		}
		for v := uint32(0); v < vals && r.err == nil; v++ {
			switch typ {
			case ptShort, ptLong, ptFloat, ptError, ptBoolean:
				r.skip(4)
			case ptDouble, ptCurrency, ptAppTime, ptI8, ptSysTime:
				r.skip(8)
			case ptCLSID:
				r.skip(16)
			case ptString8, ptUnicode, ptBinary, ptObject:
				n := r.u32()
				b := r.bytes(n)
				r.skip(pad4(n) - n)
				if v > 0 || r.err != nil {
					continue
				}
				switch typ {
				case ptString8:
					m.strings[id] = tnefString8(b)
				case ptUnicode:
					m.strings[id] = tnefUnicode(b)
				case ptBinary:
					m.binary[id] = b
				case ptObject:
					if len(b) >= 16 {
						m.object[id] = b[16:] // after the interface's GUID
					}
				}
			default:
				return m, fmt.Errorf("tnef: MAPI property type %#x", typ)
			}
		}
	}
	return m, r.err
}

// tnefReader reads little-endian values and remembers the first overrun.
type tnefReader struct {
	d   []byte
	err error
}

func (r *tnefReader) bytes(n uint32) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.d)) {
		r.err = fmt.Errorf("tnef: a MAPI value of %d bytes runs past the end", n)
		r.d = nil
		return nil
	}
	b := r.d[:n]
	r.d = r.d[n:]
	return b
}

func (r *tnefReader) skip(n uint32) { r.bytes(n) }

func (r *tnefReader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *tnefReader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func pad4(n uint32) uint32 {
	if n > 0xfffffff0 {
		return n // bytes() reports the overrun
	}
	return (n + 3) &^ 3
}

// tnefString8 reads an 8-bit string as Outlook writes it: Windows-1252
// (the code page English Outlook uses; TNEF's attOemCodepage is not
// consulted), ending at its first NUL.
func tnefString8(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	r, err := charset.Reader("windows-1252", bytes.NewReader(b))
	if err != nil {
		return strings.ToValidUTF8(string(b), "")
	}
	s, err := io.ReadAll(r)
	if err != nil {
		return strings.ToValidUTF8(string(b), "")
	}
	return string(s)
}

// tnefUnicode reads a UTF-16LE string, ending at its first NUL.
func tnefUnicode(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
