package store

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Keyring holds the AES-256-GCM data keys by id (one of them current, used
// for every new ciphertext) and the HMAC key of the blind indexes. It is
// loaded from a file or an environment variable, never from the database or
// the config file, so a copy of the database alone reveals nothing.
type Keyring struct {
	current string
	order   []string // ids as listed, current first
	aeads   map[string]cipher.AEAD
	raw     map[string][]byte
	index   []byte
}

const indexKeyID = "index"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ErrUnknownKey is returned when a ciphertext names a key the keyring does
// not hold (a key removed before its data was rotated).
var ErrUnknownKey = errors.New("register: ciphertext names a key not in the keyring")

// LoadKeyring reads a keyring. spec is "env:NAME" (the keyring text in an
// environment variable), "file:/path" or a plain path. The text has one key
// a line, "id:base64key" (32 bytes each; the first is current), and one
// "index:base64key" line for the blind index; blank lines and lines starting
// with # are skipped.
func LoadKeyring(spec string) (*Keyring, error) {
	var text []byte
	switch {
	case strings.HasPrefix(spec, "env:"):
		name := strings.TrimPrefix(spec, "env:")
		v, ok := os.LookupEnv(name)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("load keyring: environment variable %s is not set", name)
		}
		text = []byte(v)
	default:
		path := strings.TrimPrefix(spec, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("load keyring: %w", err)
		}
		text = b
	}
	k, err := ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("load keyring from %s: %w", strings.SplitN(spec, ":", 2)[0], err)
	}
	return k, nil
}

// ParseKeyring reads the keyring text LoadKeyring describes. It accepts
// lines separated by newlines or by semicolons, so a keyring fits in one
// environment variable.
func ParseKeyring(text []byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	text = bytes.ReplaceAll(text, []byte(";"), []byte("\n"))
	sc := bufio.NewScanner(bytes.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, b64, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want id:base64key", n)
		}
		id = strings.TrimSpace(id)
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("line %d: key is not base64: %w", n, err)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("line %d: key %q has %d bytes, want 32", n, id, len(key))
		}
		if id == indexKeyID {
			if k.index != nil {
				return nil, fmt.Errorf("line %d: second index key", n)
			}
			k.index = key
			continue
		}
		if err := k.add(id, key); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	if k.current == "" {
		return nil, errors.New("keyring has no data key")
	}
	if k.index == nil {
		return nil, errors.New("keyring has no index key")
	}
	return k, nil
}

func (k *Keyring) add(id string, key []byte) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("key id %q: want 1-32 letters, digits, - or _", id)
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("key id %q listed twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("key %q: %w", id, err)
	}
	k.aeads[id] = aead
	k.raw[id] = append([]byte(nil), key...)
	k.order = append(k.order, id)
	if k.current == "" {
		k.current = id
	}
	return nil
}

// GenerateKeyring makes a keyring with one fresh data key (id "k1") and a
// fresh index key, for `dsr keys init` and tests.
func GenerateKeyring() (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	if err := k.add("k1", key); err != nil {
		return nil, err
	}
	if k.index, err = randomKey(); err != nil {
		return nil, err
	}
	return k, nil
}

// WithNewKey returns a copy of the keyring with a fresh data key in front,
// so it becomes current; the older keys stay to read what they encrypted
// until RotateKeys has re-encrypted it. The index key is kept: changing it
// would orphan every blind index.
func (k *Keyring) WithNewKey(id string) (*Keyring, error) {
	nk := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}, index: k.index}
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	if err := nk.add(id, key); err != nil {
		return nil, err
	}
	for _, old := range k.order {
		if err := nk.add(old, k.raw[old]); err != nil {
			return nil, err
		}
	}
	return nk, nil
}

// Without returns a copy of the keyring without the data key id (once
// RotateKeys has moved everything off it). The current key cannot be
// dropped.
func (k *Keyring) Without(id string) (*Keyring, error) {
	if id == k.current {
		return nil, fmt.Errorf("key %q is current", id)
	}
	nk := &Keyring{aeads: map[string]cipher.AEAD{}, raw: map[string][]byte{}, index: k.index}
	for _, old := range k.order {
		if old == id {
			continue
		}
		if err := nk.add(old, k.raw[old]); err != nil {
			return nil, err
		}
	}
	return nk, nil
}

func randomKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// Marshal writes the keyring in the text form ParseKeyring reads. The
// result is secret: write it to a file only the daemon can read.
func (k *Keyring) Marshal() []byte {
	var b bytes.Buffer
	for _, id := range k.order {
		fmt.Fprintf(&b, "%s:%s\n", id, base64.StdEncoding.EncodeToString(k.raw[id]))
	}
	fmt.Fprintf(&b, "%s:%s\n", indexKeyID, base64.StdEncoding.EncodeToString(k.index))
	return b.Bytes()
}

// Current is the id of the key new ciphertexts are made with.
func (k *Keyring) Current() string { return k.current }

// IDs lists the data key ids, current first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.order...) }

// Ciphertext layout: version byte, key id length, key id, 12-byte nonce,
// sealed data. Naming the key in every value is what lets keys rotate
// without a flag day.
const cipherVersion = 1

// seal encrypts plaintext under the current key. ad binds the value to where
// it is stored (table and column), so a ciphertext copied into another
// column does not decrypt.
func (k *Keyring) seal(plaintext []byte, ad string) ([]byte, error) {
	return k.sealTo(nil, plaintext, ad)
}

// sealTo is seal writing the ciphertext into dst's storage when it has
// room for it (dst's contents are overwritten), else into a new slice.
func (k *Keyring) sealTo(dst, plaintext []byte, ad string) ([]byte, error) {
	aead := k.aeads[k.current]
	n := 2 + len(k.current) + aead.NonceSize() + len(plaintext) + aead.Overhead()
	out := dst[:0]
	if cap(out) < n {
		out = make([]byte, 0, n)
	}
	out = append(out, cipherVersion, byte(len(k.current)))
	out = append(out, k.current...)
	start := len(out)
	out = out[:start+aead.NonceSize()]
	nonce := out[start:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, []byte(ad)), nil
}

// keyIDOf returns the key id a ciphertext names.
func keyIDOf(ct []byte) (string, error) {
	if len(ct) < 2 || ct[0] != cipherVersion || len(ct) < 2+int(ct[1]) {
		return "", errors.New("register: not a ciphertext")
	}
	return string(ct[2 : 2+int(ct[1])]), nil
}

func (k *Keyring) open(ct []byte, ad string) ([]byte, error) {
	id, err := keyIDOf(ct)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	rest := ct[2+len(id):]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("register: ciphertext too short")
	}
	pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, fmt.Errorf("register: decrypt with key %q: %w", id, err)
	}
	return pt, nil
}

// blindIndex is the keyed hash a personal value is found by without storing
// it: HMAC-SHA256 under the index key, separated by kind so an NHS number
// and an email address never share an index value.
func (k *Keyring) blindIndex(kind, value string) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// nhsIndex is the blind index of an NHS number, from its digits only, so
// "999 314 9586" and "9993149586" find the same record.
func (k *Keyring) nhsIndex(nhs string) string {
	var d strings.Builder
	for _, r := range nhs {
		if r >= '0' && r <= '9' {
			d.WriteRune(r)
		}
	}
	return k.blindIndex("nhs", d.String())
}

func (k *Keyring) emailIndex(addr string) string {
	return k.blindIndex("email", strings.ToLower(strings.TrimSpace(addr)))
}
