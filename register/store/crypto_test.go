package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyringRoundTrip(t *testing.T) {
	k := stKeys(t)
	k2, err := k.WithNewKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	text := k2.Marshal()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DSR_TEST_KEYRING", strings.ReplaceAll(string(text), "\n", ";"))
	for _, spec := range []string{path, "file:" + path, "env:DSR_TEST_KEYRING"} {
		got, err := LoadKeyring(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if got.Current() != "k2" || strings.Join(got.IDs(), ",") != "k2,k1" || !bytes.Equal(got.Marshal(), text) {
			t.Fatalf("%s: keyring %v current %s", spec, got.IDs(), got.Current())
		}
		// What one copy sealed, the other opens; the index is the same.
		ct, err := k2.seal([]byte("Quillon"), "t.c")
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := got.open(ct, "t.c"); err != nil || string(pt) != "Quillon" {
			t.Fatalf("%s: open %q %v", spec, pt, err)
		}
		if got.nhsIndex("9993149586") != k.nhsIndex("999 314 9586") {
			t.Fatalf("%s: blind index differs", spec)
		}
	}
	if _, err := LoadKeyring("env:DSR_TEST_KEYRING_UNSET"); err == nil {
		t.Fatal("unset variable accepted")
	}
}

func TestParseKeyringErrors(t *testing.T) {
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	tests := map[string]string{
		"empty":          "",
		"no index key":   "k1:" + key,
		"no data key":    "index:" + key,
		"not base64":     "k1:!!!\nindex:" + key,
		"short key":      "k1:AAAA\nindex:" + key,
		"no colon":       "k1\nindex:" + key,
		"duplicate id":   "k1:" + key + "\nk1:" + key + "\nindex:" + key,
		"bad id":         "k 1:" + key + "\nindex:" + key,
		"two index keys": "k1:" + key + "\nindex:" + key + "\nindex:" + key,
	}
	for name, text := range tests {
		if _, err := ParseKeyring([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	k, err := ParseKeyring([]byte("# keys\n\nk1:" + key + "\nindex:" + key + "\n"))
	if err != nil || k.Current() != "k1" {
		t.Fatalf("valid keyring: %v", err)
	}
	if _, err := k.Without("k1"); err == nil {
		t.Fatal("dropped the current key")
	}
}

func TestSealOpen(t *testing.T) {
	k := stKeys(t)
	a, _ := k.seal([]byte("9993149586"), "records.data")
	b, _ := k.seal([]byte("9993149586"), "records.data")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if bytes.Contains(a, []byte("9993149586")) {
		t.Fatal("plaintext in ciphertext")
	}
	if id, err := keyIDOf(a); err != nil || id != "k1" {
		t.Fatalf("key id %q %v", id, err)
	}
	if _, err := k.open(a, "cases.forms"); err == nil {
		t.Fatal("opened under another column's associated data")
	}
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.open(tampered, "records.data"); err == nil {
		t.Fatal("opened a tampered ciphertext")
	}
	if _, err := stKeys(t).open(a, "records.data"); err == nil {
		t.Fatal("another keyring with the same key id opened it")
	}
	renamed := bytes.Clone(a)
	renamed[2] = 'x'
	if _, err := k.open(renamed, "records.data"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0}, {1, 5, 'k'}} {
		if _, err := k.open(bad, "records.data"); err == nil {
			t.Fatalf("opened %v", bad)
		}
	}
}

func TestBlindIndex(t *testing.T) {
	k := stKeys(t)
	if k.nhsIndex("999 314 9586") != k.nhsIndex("999-314-9586") || k.nhsIndex("9993149586") == k.nhsIndex("9995628198") {
		t.Fatal("NHS index does not follow the digits")
	}
	if k.emailIndex(" Sam@Example.org") != k.emailIndex("sam@example.org") {
		t.Fatal("email index is case sensitive")
	}
	if k.blindIndex("nhs", "x") == k.blindIndex("email", "x") {
		t.Fatal("index kinds collide")
	}
	if k.nhsIndex("9993149586") == stKeys(t).nhsIndex("9993149586") {
		t.Fatal("index does not depend on the key")
	}
}

func TestSQLiteDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/var/lib/dsr/dsr.db", "file:/var/lib/dsr/dsr.db?" + strings.Join(sqlitePragmas, "&")},
		{"file:x.db?mode=rwc", "file:x.db?mode=rwc&" + strings.Join(sqlitePragmas, "&")},
		{"file:x.db?_pragma=busy_timeout(1)&_txlock=deferred&_time_format=sqlite",
			"file:x.db?_pragma=busy_timeout(1)&_txlock=deferred&_time_format=sqlite&_pragma=cache_size(-512)&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(4000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(1)"},
	}
	for _, tc := range tests {
		if got := sqliteDSN(tc.in); got != tc.want {
			t.Errorf("sqliteDSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
