package parser

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"fmt"
	"io"
)

// Stream filters (PDF 32000-1:2008, 7.4) for the rewrite of files whose
// streams the library cannot decode: it knows only FlateDecode (with the
// PNG Up predictor) and ASCII85Decode.

var errDecodeBudget = errors.New("decoded streams larger than the budget")

// decodeFilter applies one filter to data, producing at most limit bytes
// (errDecodeBudget past it). A damaged stream yields what was decoded
// before the damage, with an error. ok is false for a filter this
// reader does not decode (image codecs), which is left in place.
func decodeFilter(name pdfName, parms pdfDict, data []byte, limit int64) (out []byte, ok bool, err error) {
	switch name {
	case "FlateDecode", "Fl":
		out, err = inflate(data, limit)
	case "LZWDecode", "LZW":
		early := int64(1)
		if v, ok := pdfInt(parms["EarlyChange"]); ok {
			early = v
		}
		out, err = lzwDecode(data, early != 0, limit)
	case "ASCIIHexDecode", "AHx":
		l := pdfLexer{data: data}
		out = []byte(l.hex())
	case "ASCII85Decode", "A85":
		out, err = ascii85Decode(data)
	case "RunLengthDecode", "RL":
		out, err = runLengthDecode(data, limit)
	default:
		return data, false, nil
	}
	if int64(len(out)) > limit {
		return nil, true, errDecodeBudget
	}
	if name == "FlateDecode" || name == "Fl" || name == "LZWDecode" || name == "LZW" {
		var perr error
		out, perr = unpredict(parms, out)
		if err == nil {
			err = perr
		}
	}
	return out, true, err
}

func inflate(data []byte, limit int64) ([]byte, error) {
	var r io.Reader
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		// Some writers leave out the zlib header.
		r = flate.NewReader(bytes.NewReader(data))
	} else {
		r = zr
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(r, limit+1))
	if errors.Is(err, io.ErrUnexpectedEOF) && buf.Len() > 0 || checksumOnly(err) {
		err = nil // a missing or wrong checksum, or no end: keep what was inflated
	}
	return buf.Bytes(), err
}

func ascii85Decode(data []byte) ([]byte, error) {
	clean := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '~' {
			break
		}
		if c == '<' && i+1 < len(data) && data[i+1] == '~' && len(clean) == 0 {
			i++
			continue
		}
		if (c >= '!' && c <= 'u') || c == 'z' {
			clean = append(clean, c)
		}
	}
	out := make([]byte, 4*len(clean)+4)
	n, _, err := ascii85.Decode(out, clean, true)
	if err != nil {
		return out[:n], fmt.Errorf("ascii85: %w", err)
	}
	return out[:n], nil
}

func runLengthDecode(data []byte, limit int64) ([]byte, error) {
	var out []byte
	for i := 0; i < len(data); {
		n := int(data[i])
		i++
		switch {
		case n == 128:
			return out, nil
		case n < 128:
			end := min(len(data), i+n+1)
			out = append(out, data[i:end]...)
			i = end
		default:
			if i < len(data) {
				out = append(out, bytes.Repeat(data[i:i+1], 257-n)...)
			}
			i++
		}
		if int64(len(out)) > limit {
			return out, errDecodeBudget
		}
	}
	return out, nil
}

// lzwDecode decodes LZW as PDF writes it: MSB-first codes of 9 to 12
// bits, 256 clears the table, 257 ends; with early change (the default)
// the code width grows one code sooner than in GIF.
func lzwDecode(data []byte, early bool, limit int64) ([]byte, error) {
	type entry struct {
		prev int32
		c    byte
		n    int32
	}
	table := make([]entry, 4096)
	for i := range 256 {
		table[i] = entry{prev: -1, c: byte(i), n: 1}
	}
	next, width := 258, 9
	var out []byte
	var bits uint32
	nbits := 0
	prev := -1
	emit := func(code int) byte {
		n := table[code].n
		start := len(out)
		out = append(out, make([]byte, n)...)
		for i, c := int(n)-1, code; i >= 0 && c >= 0; i-- {
			out[start+i] = table[c].c
			c = int(table[c].prev)
		}
		return out[start]
	}
	e := 0
	if early {
		e = 1
	}
	for _, b := range data {
		bits = bits<<8 | uint32(b)
		nbits += 8
		for nbits >= width {
			code := int(bits >> (nbits - width) & (1<<width - 1))
			nbits -= width
			switch {
			case code == 256:
				next, width, prev = 258, 9, -1
				continue
			case code == 257:
				return out, nil
			case prev < 0:
				if code > 255 {
					return out, errors.New("lzw: bad first code")
				}
				emit(code)
				prev = code
				continue
			}
			var first byte
			switch {
			case code < next:
				first = emit(code)
			case code == next:
				first = emit(prev)
				out = append(out, first)
			default:
				return out, errors.New("lzw: bad code")
			}
			if next < 4096 {
				table[next] = entry{prev: int32(prev), c: first, n: table[prev].n + 1}
				next++
			}
			prev = code
			if next+e >= 1<<width && width < 12 {
				width++
			}
			if int64(len(out)) > limit {
				return out, errDecodeBudget
			}
		}
	}
	return out, nil
}

// unpredict undoes a TIFF (2) or PNG (10-15) predictor.
func unpredict(parms pdfDict, data []byte) ([]byte, error) {
	pred, _ := pdfInt(parms["Predictor"])
	if pred <= 1 {
		return data, nil
	}
	colors, bpc, columns := int64(1), int64(8), int64(1)
	if v, ok := pdfInt(parms["Colors"]); ok && v > 0 && v <= 32 {
		colors = v
	}
	if v, ok := pdfInt(parms["BitsPerComponent"]); ok && v > 0 && v <= 16 {
		bpc = v
	}
	if v, ok := pdfInt(parms["Columns"]); ok && v > 0 && v <= 1<<24 {
		columns = v
	}
	bpp := int(max(1, (colors*bpc+7)/8))
	rowLen := int((colors*bpc*columns + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return data, nil // rare; left as is
		}
		for r := 0; r+rowLen <= len(data); r += rowLen {
			row := data[r : r+rowLen]
			for i := bpp; i < len(row); i++ {
				row[i] += row[i-bpp]
			}
		}
		return data, nil
	}
	if pred < 10 {
		return data, fmt.Errorf("unknown predictor %d", pred)
	}
	out := make([]byte, 0, len(data))
	prior := make([]byte, rowLen)
	for r := 0; r < len(data); r += rowLen + 1 {
		typ := data[r]
		row := data[r+1 : min(len(data), r+1+rowLen)]
		cur := make([]byte, len(row))
		for i := range row {
			var left, upLeft byte
			if i >= bpp {
				left, upLeft = cur[i-bpp], prior[i-bpp]
			}
			up := prior[i]
			switch typ {
			case 0:
				cur[i] = row[i]
			case 1:
				cur[i] = row[i] + left
			case 2:
				cur[i] = row[i] + up
			case 3:
				cur[i] = row[i] + byte((int(left)+int(up))/2)
			case 4:
				cur[i] = row[i] + paeth(left, up, upLeft)
			default:
				return out, fmt.Errorf("bad png row filter %d", typ)
			}
		}
		out = append(out, cur...)
		copy(prior, cur)
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
