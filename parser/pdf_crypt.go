package parser

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
)

// The standard security handler (PDF 32000-1:2008, 7.6.3; ISO 32000-2,
// 7.6.4 for AES-256), opened with the empty password as every viewer
// does: a form protected by an owner password only (against editing or
// printing) opens without asking, and is read; so does an AES-256 form
// whose owner password is the empty one (see aes256Key).

// errNeedsPassword: the file cannot be opened without a password.
var errNeedsPassword = errors.New("the PDF needs a password to open")

// errBadEncrypt: the encryption dictionary is broken (a damaged file).
var errBadEncrypt = errors.New("malformed encryption dictionary")

// errRightsManaged: the security handler is Microsoft's rights
// management (Azure Information Protection, Purview sensitivity labels),
// whose key comes from the organisation's sign-in, not a password.
var errRightsManaged = errors.New("protected by Microsoft's rights management")

// errUnsupportedSecurity: a security handler other than the standard one
// (a certificate, a DRM plug-in): no viewer opens it without its key.
var errUnsupportedSecurity = errors.New("unsupported security handler")

var pdfPasswordPad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

// cryptMethod is how strings or streams are encrypted.
type cryptMethod int

const (
	cryptNone cryptMethod = iota // Identity
	cryptRC4
	cryptAESV2 // AES-128, per-object key
	cryptAESV3 // AES-256, the file key
)

// pdfCrypt decrypts a file's strings and streams.
type pdfCrypt struct {
	key          []byte
	strM, stmM   cryptMethod
	encryptMeta  bool
	encryptDictN uint32 // the /Encrypt dictionary's object, never encrypted
}

// newPDFCrypt opens the standard security handler with the empty user
// password. id is the first element of the trailer's /ID.
func newPDFCrypt(enc pdfDict, id []byte) (*pdfCrypt, error) {
	if f, _ := enc["Filter"].(pdfName); f == "MicrosoftIRMServices" {
		return nil, fmt.Errorf("%w: /Filter /%s", errRightsManaged, f)
	}
	if f, _ := enc["Filter"].(pdfName); f != "Standard" {
		return nil, fmt.Errorf("%w: /Filter /%s", errUnsupportedSecurity, f)
	}
	v, _ := pdfInt(enc["V"])
	r, _ := pdfInt(enc["R"])
	o, _ := enc["O"].(pdfString)
	u, _ := enc["U"].(pdfString)
	p, _ := pdfInt(enc["P"])
	c := &pdfCrypt{encryptMeta: true}
	if b, ok := enc["EncryptMetadata"].(bool); ok {
		c.encryptMeta = b
	}
	switch {
	case v == 1 || v == 2:
		c.strM, c.stmM = cryptRC4, cryptRC4
	case v == 4 || v == 5:
		c.strM = cryptFilterMethod(enc, "StrF")
		c.stmM = cryptFilterMethod(enc, "StmF")
	default:
		return nil, fmt.Errorf("%w: /V %d", errBadEncrypt, v)
	}
	if r >= 5 {
		key, err := aes256Key(enc, r, []byte(u))
		if err != nil {
			return nil, err
		}
		c.key = key
		return c, nil
	}
	if r < 2 || len(o) < 32 || len(u) < 32 {
		return nil, fmt.Errorf("%w: /R %d, /O %d bytes, /U %d bytes", errBadEncrypt, r, len(o), len(u))
	}
	n := int64(5)
	lengthGiven := false
	if r >= 3 {
		bits, ok := pdfInt(enc["Length"])
		if !ok {
			bits = 40
		}
		lengthGiven = ok
		if v == 4 {
			bits = 128
		}
		if bits%8 != 0 || bits < 40 || bits > 128 {
			return nil, fmt.Errorf("%w: /Length %d", errBadEncrypt, bits)
		}
		n = bits / 8
	}
	key := rc4FileKey(o, p, id, r, n, c.encryptMeta)
	if !userKeyOK(key, r, u, id) {
		// A file whose dictionary lost its /Length (qpdf's
		// bad-encryption-length.pdf has "/Wength 128") was read by
		// qpdf with the key length /U proves right; so here: the key
		// that gives /U is the file's, whatever length it has.
		if r < 3 || lengthGiven || v == 4 {
			return nil, errNeedsPassword
		}
		if key = rc4FileKey(o, p, id, r, 16, c.encryptMeta); !userKeyOK(key, r, u, id) {
			return nil, errNeedsPassword
		}
	}
	c.key = key
	return c, nil
}

// rc4FileKey is Algorithm 2: the file key of n bytes from the empty user
// password.
func rc4FileKey(o pdfString, p int64, id []byte, r, n int64, encryptMeta bool) []byte {
	h := md5.New()
	h.Write(pdfPasswordPad)
	h.Write([]byte(o[:32]))
	h.Write([]byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)})
	h.Write(id)
	if r >= 4 && !encryptMeta {
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	}
	key := h.Sum(nil)
	if r >= 3 {
		for range 50 {
			s := md5.Sum(key[:n])
			key = s[:]
		}
	}
	return key[:n]
}

// userKeyOK is Algorithms 4 and 5: the key is right when it gives /U.
func userKeyOK(key []byte, r int64, u pdfString, id []byte) bool {
	if r == 2 {
		got := make([]byte, 32)
		ciph, _ := rc4.NewCipher(key)
		ciph.XORKeyStream(got, pdfPasswordPad)
		return bytes.Equal(got, []byte(u[:32]))
	}
	h := md5.New()
	h.Write(pdfPasswordPad)
	h.Write(id)
	got := h.Sum(nil)
	k := make([]byte, len(key))
	for i := 0; i <= 19; i++ {
		for j := range key {
			k[j] = key[j] ^ byte(i)
		}
		ciph, _ := rc4.NewCipher(k)
		ciph.XORKeyStream(got, got)
	}
	return bytes.Equal(got[:16], []byte(u[:16]))
}

// cryptFilterMethod is the method of the crypt filter named by /StrF or
// /StmF (V4, V5).
func cryptFilterMethod(enc pdfDict, which pdfName) cryptMethod {
	name, _ := enc[which].(pdfName)
	if name == "" || name == "Identity" {
		return cryptNone
	}
	cf, _ := enc["CF"].(pdfDict)
	f, _ := cf[name].(pdfDict)
	switch m, _ := f["CFM"].(pdfName); m {
	case "V2":
		return cryptRC4
	case "AESV2":
		return cryptAESV2
	case "AESV3":
		return cryptAESV3
	case "None":
		return cryptNone
	}
	return cryptRC4
}

// aes256Key checks the empty password and returns the file key of an
// AES-256 file (R5, and R6's Algorithm 2.A with 2.B's hash): as the user
// password, else as the owner password. At R5 and R6 an owner password
// can be empty while the user password is not (at R2-R4 an empty owner
// password is the user's, Algorithm 3), and qpdf, poppler, pdf.js and
// PDFium then open the file without asking, as the referrer's own viewer
// did; so it is read, not refused as encrypted.
func aes256Key(enc pdfDict, r int64, u []byte) ([]byte, error) {
	ue, _ := enc["UE"].(pdfString)
	if len(u) < 48 || len(ue) < 32 {
		return nil, fmt.Errorf("%w: /U %d bytes, /UE %d bytes", errBadEncrypt, len(u), len(ue))
	}
	// hashOf is the hash of the empty password with salt and, for the
	// owner password, the 48 bytes of /U.
	hashOf := func(salt, udata []byte) []byte {
		if r == 5 {
			h := sha256.New()
			h.Write(salt)
			h.Write(udata)
			return h.Sum(nil)
		}
		return hash2B(nil, salt, udata)
	}
	ik, wrapped := []byte(nil), []byte(ue[:32])
	if bytes.Equal(hashOf(u[32:40], nil), u[:32]) {
		ik = hashOf(u[40:48], nil)
	} else {
		o, _ := enc["O"].(pdfString)
		oe, _ := enc["OE"].(pdfString)
		if len(o) < 48 || len(oe) < 32 || !bytes.Equal(hashOf([]byte(o[32:40]), u[:48]), []byte(o[:32])) {
			return nil, errNeedsPassword
		}
		ik, wrapped = hashOf([]byte(o[40:48]), u[:48]), []byte(oe[:32])
	}
	block, err := aes.NewCipher(ik)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadEncrypt, err)
	}
	key := make([]byte, 32)
	cipher.NewCBCDecrypter(block, make([]byte, 16)).CryptBlocks(key, wrapped)
	return key, nil
}

// hash2B is Algorithm 2.B of ISO 32000-2 (R6).
func hash2B(password, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(password)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	// The rounds' buffers are reused: this hash is made to be slow, and
	// it is a good part of reading an AES-256 form.
	var k1, e []byte
	for round := 1; ; round++ {
		k1 = k1[:0]
		for range 64 {
			k1 = append(k1, password...)
			k1 = append(k1, k...)
			k1 = append(k1, udata...)
		}
		block, _ := aes.NewCipher(k[:16])
		if cap(e) < len(k1) {
			e = make([]byte, len(k1), 64*(len(password)+64+len(udata)))
		}
		e = e[:len(k1)]
		cipher.NewCBCEncrypter(block, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, b := range e[:16] {
			sum += int(b)
		}
		var hh hash.Hash
		switch sum % 3 {
		case 0:
			hh = sha256.New()
		case 1:
			hh = sha512.New384()
		default:
			hh = sha512.New()
		}
		hh.Write(e)
		k = hh.Sum(nil)
		if round >= 64 && int(e[len(e)-1]) <= round-32 {
			break
		}
		if round > 1000 { // cannot happen: the last byte is below 256
			break
		}
	}
	return k[:32]
}

// objectKey is the key for one object (Algorithm 1).
func (c *pdfCrypt) objectKey(m cryptMethod, ref pdfRef) []byte {
	if m == cryptAESV3 {
		return c.key
	}
	h := md5.New()
	h.Write(c.key)
	h.Write([]byte{byte(ref.num), byte(ref.num >> 8), byte(ref.num >> 16), byte(ref.gen), byte(ref.gen >> 8)})
	if m == cryptAESV2 {
		h.Write([]byte("sAlT"))
	}
	k := h.Sum(nil)
	return k[:min(len(c.key)+5, 16)]
}

// decrypt decrypts the data of a string or stream of object ref.
func (c *pdfCrypt) decrypt(m cryptMethod, ref pdfRef, data []byte) ([]byte, error) {
	switch m {
	case cryptNone:
		return data, nil
	case cryptRC4:
		out := make([]byte, len(data))
		ciph, _ := rc4.NewCipher(c.objectKey(m, ref))
		ciph.XORKeyStream(out, data)
		return out, nil
	}
	if len(data) < 16 {
		if len(data) == 0 {
			return nil, nil
		}
		return nil, errors.New("aes: data shorter than its IV")
	}
	block, err := aes.NewCipher(c.objectKey(m, ref))
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	body := data[16:]
	n := len(body) - len(body)%16
	out := make([]byte, n)
	cipher.NewCBCDecrypter(block, data[:16]).CryptBlocks(out, body[:n])
	// PKCS#5 padding; a writer that left it off loses nothing.
	if n > 0 {
		if pad := int(out[n-1]); pad >= 1 && pad <= 16 && pad <= n && bytes.Equal(out[n-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
			out = out[:n-pad]
		}
	}
	return out, nil
}

// decryptObject decrypts the strings in o, an object of indirect object
// ref, in place where it can.
func (c *pdfCrypt) decryptObject(o pdfObj, ref pdfRef, depth int) pdfObj {
	if depth > maxSyntaxDepth {
		return o
	}
	switch v := o.(type) {
	case pdfString:
		d, err := c.decrypt(c.strM, ref, []byte(v))
		if err != nil {
			return v
		}
		return pdfString(d)
	case pdfArray:
		for i := range v {
			v[i] = c.decryptObject(v[i], ref, depth+1)
		}
	case pdfDict:
		for k, x := range v {
			v[k] = c.decryptObject(x, ref, depth+1)
		}
	}
	return o
}
