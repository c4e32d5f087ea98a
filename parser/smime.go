package parser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smallstep/pkcs7"
)

// S/MIME opaque signing (Outlook's "signed" when clear-text signing is
// off, and some organisations' gateways) sends the whole signed email as
// one application/pkcs7-mime part, smime.p7m: a CMS SignedData structure
// that carries the email's MIME entity inside it. A mail client shows that
// entity; Python's email, like any MIME parser that does not read CMS,
// sees a single binary part. Its signature is not checked here: who sent
// the email is decided by the mailbox's own checks, as for a clear-signed
// email.

// signedEntity is what an opaque-signed part carries, parsed once: a part
// declared S/MIME signed data, or an smime.p7m declaring no S/MIME type
// whose content is signed data. ok is false for any other part and for
// one whose content cannot be taken out (encryptedPart then says so).
func signedEntity(p *part) (content []byte, ok bool) {
	if p.mediaType != "application/pkcs7-mime" && p.mediaType != "application/x-pkcs7-mime" {
		return nil, false
	}
	switch strings.ToLower(p.params["smime-type"]) {
	case "signed-data":
	case "":
		if !strings.HasSuffix(strings.ToLower(p.filename), ".p7m") {
			return nil, false
		}
	default:
		return nil, false
	}
	content, err := signedContent(p.data)
	return content, err == nil
}

var errNoSignedContent = errors.New("the signature carries no content (a detached signature)")

// signedContent is what a CMS SignedData structure (BER or DER) carries.
func signedContent(data []byte) (content []byte, err error) {
	// The library is defensive, but it reads what the sender wrote.
	defer func() {
		if x := recover(); x != nil {
			content, err = nil, fmt.Errorf("s/mime: %v", x)
		}
	}()
	if !berNestingWithin(data, maxBERDepth) {
		return nil, fmt.Errorf("s/mime: values nested deeper than %d", maxBERDepth)
	}
	p7, err := pkcs7.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("s/mime: %w", err)
	}
	if len(p7.Content) == 0 {
		return nil, errNoSignedContent
	}
	return p7.Content, nil
}

// maxBERDepth bounds how deeply a signature's values may nest. A signed
// email nests about a dozen deep (its certificates the deepest); the
// library converts BER to DER by recursion, one call a level, and a few
// megabytes of nothing but nesting would overflow the stack, which no
// recover catches.
const maxBERDepth = 100

// berNestingWithin reads data's tags and lengths, not its values, and
// reports whether its constructed values nest at most max deep. It is a
// guard before the library's parse, not a parser: what it passes may
// still be refused there.
func berNestingWithin(data []byte, max int) bool {
	var ends []int // where each open constructed value ends; -1: at its end-of-contents
	for i := 0; i < len(data); {
		for len(ends) > 0 && ends[len(ends)-1] >= 0 && i >= ends[len(ends)-1] {
			ends = ends[:len(ends)-1]
		}
		if data[i] == 0 && i+1 < len(data) && data[i+1] == 0 {
			if len(ends) > 0 && ends[len(ends)-1] == -1 {
				ends = ends[:len(ends)-1]
			}
			i += 2
			continue
		}
		tag := data[i]
		i++
		if tag&0x1f == 0x1f { // a tag number in more bytes
			for i < len(data) && data[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if i >= len(data) {
			return true
		}
		l := data[i]
		i++
		constructed := tag&0x20 != 0
		if l == 0x80 {
			if !constructed {
				return true // the library refuses it
			}
			if ends = append(ends, -1); len(ends) > max {
				return false
			}
			continue
		}
		n := int(l)
		if l&0x80 != 0 {
			k := int(l & 0x7f)
			if k > 4 || i+k > len(data) {
				return true // the library refuses it
			}
			n = 0
			for j := range k {
				n = n<<8 | int(data[i+j])
			}
			i += k
		}
		if constructed {
			if ends = append(ends, i+n); len(ends) > max {
				return false
			}
			continue
		}
		i += n
	}
	return true
}
