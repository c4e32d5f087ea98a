package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"dsr-intake/parser"
)

// BenchmarkApply commits one referral per iteration on SQLite (WAL,
// synchronous=NORMAL), each with a raw message of a real referral's size
// (150 KB, encrypted and stored), alternating two children so that half
// the emails update an existing case. It is the per-email cost of the
// intake's one transaction.
func BenchmarkApply(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchmarkApply(b, Options{Driver: "sqlite", DSN: filepath.Join(b.TempDir(), "dsr.db")})
	})
	b.Run("postgres", func(b *testing.B) {
		benchmarkApply(b, stNewPostgres(b).newDB(b))
	})
}

func benchmarkApply(b *testing.B, o Options) {
	keys, err := GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	o.Keys = keys
	s, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pad := bytes.Repeat([]byte("JVBERi0xLjcKJeLjz9MKMSAwIG9iago8PC9UeXBlL0NhdGFsb2cvUGFnZXMgMiAwIFI+PgplbmRvYmoK\r\n"), 150<<10/82)
	children := []stChild{stQuillon, stPerpetua}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		c := children[i%len(children)]
		sub := &parser.Submission{Subject: "DSR referral", Referral: stReferral(c), Consent: stConsent(c, parser.BasisParental)}
		in := stMessage(fmt.Sprintf("bench-%d@school.example", i), sub)
		in.Raw = append(in.Raw, pad...)
		sum := sha256.Sum256(in.Raw)
		in.Hash = hex.EncodeToString(sum[:])
		if _, err := s.Apply(context.Background(), in, stRules(sub), stCompose(sub)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
