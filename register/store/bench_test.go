package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	var waits stWaits
	if o.Driver == "postgres" {
		o.wrapConn = waits.wrap
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// Beside the wall time, which on a shared machine counts the waits
	// for a core: this process's CPU per commit and, on PostgreSQL, the
	// round trips and the CPU of the server processes serving it (when the
	// server runs on this machine).
	cpu0, server0, waits0 := stCPU(), stServerCPU(b, s), waits.n.Load()
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
	if i == 0 {
		return
	}
	n := float64(i)
	b.ReportMetric(float64(stCPU()-cpu0)/n, "cpu-ns/op")
	if o.Driver == "postgres" {
		b.ReportMetric(float64(waits.n.Load()-waits0)/n, "round-trips/op")
		if server0 >= 0 {
			if server := stServerCPU(b, s); server >= 0 {
				b.ReportMetric(float64(server-server0)/n, "server-cpu-ns/op")
			}
		}
	}
}

// stCPU is the CPU this process has used, user and system.
func stCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stServerCPU is the CPU used so far by the PostgreSQL backends connected
// to s's database (the one asking included: a query's worth), read from
// /proc; -1 when that cannot be read (SQLite, or a server on another
// machine).
func stServerCPU(b *testing.B, s *Store) time.Duration {
	if s.dialect != dialectPostgres {
		return -1
	}
	var pids []int
	if err := s.db.Select(&pids, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`); err != nil {
		b.Fatal(err)
	}
	const tick = time.Second / 100 // USER_HZ
	var total time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// The fields after the command's closing parenthesis; utime and
		// stime are the 14th and 15th of the whole line.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			return -1
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * tick
	}
	return total
}
