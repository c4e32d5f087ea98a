package parser

// Objects the rewrite may copy as written. A form saved by Acrobat, Edge,
// pdf.js or pdfcpu keeps its fields in object streams, which the rewrite
// takes apart (see rewriteReason); parsing each object into maps and
// writing it out again was a third of reading such a form. An object
// that is plainly written reads the same to ledongthuc/pdf as to our
// lexer, so its bytes can be copied; anything our lexer forgives or reads
// otherwise than the library is still parsed and written again. Should
// the library still fail on the result, the file goes where any file the
// library fails on after the rewrite goes (readReconstructed): its
// objects found by a scan, every one parsed and written again.

// maxPlainDepth is how deeply a copied object may nest; deeper ones are
// parsed (and bounded by maxSyntaxDepth) as before.
const maxPlainDepth = 32

// plainObject reports whether b is exactly one object, followed only by
// white space, made of: dictionaries with a name for each key and one
// value for each, arrays, integers and reals in the forms the library
// parses, names without # escapes, literal strings with balanced
// parentheses, no carriage return and only the escapes both readers read
// alike (see plainLiteral), hex strings of whole bytes, true, false, null (not as
// a dictionary's value) and references (not as the object itself). It
// allocates nothing.
func plainObject(b []byte) bool {
	var stack [maxPlainDepth]byte // '<' a dictionary, '[' an array
	depth := 0
	wantKey := false // in a dictionary, a key (not a value) comes next
	done := false    // the top-level object is complete
	i := 0
	// value records that a whole value was read at i.
	value := func() {
		if depth == 0 {
			done = true
		} else if stack[depth-1] == '<' {
			wantKey = true
		}
	}
	for {
		for i < len(b) && isPDFSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return done
		}
		if done {
			return false // more than one object
		}
		c := b[i]
		if depth > 0 && stack[depth-1] == '<' && wantKey {
			if c == '>' && i+1 < len(b) && b[i+1] == '>' {
				i += 2
				depth--
				value()
				continue
			}
			if c != '/' {
				return false // a key that is not a name
			}
			n := plainName(b, i+1)
			if n < 0 {
				return false
			}
			i = n
			wantKey = false
			continue
		}
		switch {
		case c == '<' && i+1 < len(b) && b[i+1] == '<':
			if depth == len(stack) {
				return false
			}
			stack[depth] = '<'
			depth++
			wantKey = true
			i += 2
		case c == '[':
			if depth == len(stack) {
				return false
			}
			stack[depth] = '['
			depth++
			i++
		case c == ']':
			if depth == 0 || stack[depth-1] != '[' {
				return false
			}
			depth--
			i++
			value()
		case c == '(' || c == '<' || c == '/':
			var n int
			switch c {
			case '(':
				n = plainLiteral(b, i+1)
			case '<':
				n = plainHex(b, i+1)
			default:
				n = plainName(b, i+1)
			}
			if n < 0 {
				return false
			}
			i = n
			value()
		default:
			n := regularEnd(b, i)
			switch word := b[i:n]; {
			case string(word) == "true", string(word) == "false":
				i = n
			case string(word) == "null":
				// A null value drops its key for our lexer, where the
				// library keeps the last value a repeated key has
				// (FuzzPlainObject found "<</A 1/A null>>").
				if depth > 0 && stack[depth-1] == '<' {
					return false
				}
				i = n
			case plainUint(word):
				// "n g R" is one value, a reference; both readers take
				// it as one only within these bounds.
				i = n
				if m, g, ok := referenceRest(b, n); ok {
					if depth == 0 || uintValue(word) > 1<<31 || g > 65535 {
						// The library cannot read an object that is
						// itself a reference (FuzzPlainObject found it).
						return false
					}
					i = m
				}
			case plainNumber(word):
				i = n
			default:
				return false // a keyword, or a number the readers part on
			}
			value()
		}
	}
}

// regularEnd is the end of the run of regular characters from i.
func regularEnd(b []byte, i int) int {
	for i < len(b) && !isPDFSpace(b[i]) && !isPDFDelim(b[i]) {
		i++
	}
	return i
}

// referenceRest reads " g R" after what may be a reference's object
// number, ending at n; it returns where the reference ends and its
// generation.
func referenceRest(b []byte, n int) (end int, gen int64, ok bool) {
	i := n
	for i < len(b) && isPDFSpace(b[i]) {
		i++
	}
	j := regularEnd(b, i)
	if j == i || !plainUint(b[i:j]) {
		return 0, 0, false
	}
	k := j
	for k < len(b) && isPDFSpace(b[k]) {
		k++
	}
	if m := regularEnd(b, k); m == k+1 && b[k] == 'R' {
		return m, uintValue(b[i:j]), true
	}
	return 0, 0, false
}

// plainName is the end of a name whose first byte (after the '/') is at
// i; -1 if it is empty or holds a # escape.
func plainName(b []byte, i int) int {
	n := regularEnd(b, i)
	if n == i {
		return -1
	}
	for j := i; j < n; j++ {
		if b[j] == '#' {
			return -1
		}
	}
	return n
}

// plainLiteral is the end of a literal string whose first byte (after the
// '(') is at i; -1 if it is unterminated, holds a carriage return (which
// the library keeps and our lexer reads as a line end), or an escape the
// two read otherwise: the library refuses an unknown escape ("\\+") and an
// octal one over \377, which our lexer reads as the character and as its
// low byte. The escapes both read alike (Acrobat writes accented letters
// as octal ones) are let through.
func plainLiteral(b []byte, i int) int {
	depth := 1
	for ; i < len(b); i++ {
		switch b[i] {
		case '\r':
			return -1
		case '\\':
			n := plainEscape(b, i+1)
			if n < 0 {
				return -1
			}
			i = n - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// plainEscape is the end of the escape whose first byte (after the
// backslash) is at i, -1 where the readers part (see plainLiteral).
func plainEscape(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == 'n', c == 'r', c == 't', c == 'b', c == 'f', c == '(', c == ')', c == '\\', c == '\n':
		return i + 1
	case c >= '0' && c <= '7':
		v, j := 0, i
		for ; j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7'; j++ {
			v = v*8 + int(b[j]-'0')
		}
		if v > 255 {
			return -1
		}
		return j
	}
	return -1 // an unknown escape, or a line continuation after a carriage return
}

// plainHex is the end of a hex string whose first byte (after the '<') is
// at i; -1 unless it is hex digits and white space, an even number of
// digits, closed.
func plainHex(b []byte, i int) int {
	digits := 0
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '>':
			if digits%2 != 0 {
				return -1
			}
			return i + 1
		case unhexDigit(c) >= 0:
			digits++
		case !isPDFSpace(c):
			return -1
		}
	}
	return -1
}

// plainUint reports an unsigned integer of at most 18 digits (no sign):
// an object or generation number, or a count.
func plainUint(w []byte) bool {
	if len(w) == 0 || len(w) > 18 {
		return false
	}
	for _, c := range w {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// uintValue is the value of what plainUint accepts.
func uintValue(w []byte) int64 {
	var v int64
	for _, c := range w {
		v = v*10 + int64(c-'0')
	}
	return v
}

// plainNumber reports a number both readers parse alike: an optional
// sign, then digits with at most one point among or around them, at most
// 18 digits.
func plainNumber(w []byte) bool {
	if len(w) > 0 && (w[0] == '+' || w[0] == '-') {
		w = w[1:]
	}
	digits, points := 0, 0
	for _, c := range w {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && digits <= 18 && points <= 1
}
