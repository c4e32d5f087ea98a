package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options says which database the store opens and with which keys.
type Options struct {
	// Driver is "sqlite" (the embedded default: one file) or "postgres"
	// (a register shared by several daemons).
	Driver string
	// DSN is a file path or file: URI for SQLite, a postgres:// URL for
	// PostgreSQL.
	DSN string
	// Keys encrypts personal data and makes the blind indexes. Required.
	Keys   *Keyring
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// wrapConn, when set, wraps each PostgreSQL connection as it is
	// dialled: the tests count the round trips a commit makes with it.
	wrapConn func(net.Conn) net.Conn
}

// Store is the register's database: messages, cases, records, the review
// queue, the outbox and the audit log, with personal data encrypted.
type Store struct {
	db      *sqlx.DB
	dialect string
	keys    *Keyring
	log     *slog.Logger
	now     func() time.Time
	stmts   stmtCache
	// signinMu takes sign-in claims one at a time in this process (see
	// ClaimSignin), so a burst of them never holds every connection
	// waiting for the one that holds the database's lock.
	signinMu sync.Mutex
	// rawCTs are buffers a raw email's chunk is sealed into while it is
	// written (sealRaw): a new 150 KB ciphertext for every email was a
	// fifth of what the intake allocated (make bench's allocation
	// profile, BENCHMARKS.md "Issue 19, seventh round").
	rawCTs sync.Pool
}

// stmtCache keeps SQLite's statements prepared. The driver prepares every
// statement it is given anew, a quarter of the CPU of a referral's commit
// (some twenty statements); database/sql keeps a statement prepared on each
// connection it has run on, and a transaction reuses its connection's.
// PostgreSQL's driver (pgx) caches its own.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

// maxCachedStmts bounds the cache: queries are written in the code, but a
// few are built with a variable number of placeholders.
const maxCachedStmts = 500

// prepared returns query (already rebound) prepared on the database, or
// nil when it is not cached (PostgreSQL, a full cache, a failed prepare:
// the caller then runs the text as before).
func (s *Store) prepared(ctx context.Context, query string) *sqlx.Stmt {
	if s.dialect != dialectSQLite {
		return nil
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.m[query]; ok {
		return st
	}
	if len(s.stmts.m) >= maxCachedStmts {
		return nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	if s.stmts.m == nil {
		s.stmts.m = map[string]*sqlx.Stmt{}
	}
	s.stmts.m[query] = st
	return st
}

// stmtFor is query as a prepared statement for q (the database or a
// transaction), or nil.
func (s *Store) stmtFor(ctx context.Context, q queryer, query string) *sqlx.Stmt {
	st := s.prepared(ctx, query)
	if st == nil {
		return nil
	}
	switch q := q.(type) {
	case *sqlx.Tx:
		return q.StmtxContext(ctx, st) // closed with the transaction
	case *sqlx.DB:
		return st
	}
	return nil
}

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// ErrNotFound is returned when a record, case, review item or outbox row
// does not exist.
var ErrNotFound = errors.New("register: not found")

// sqlitePragmas are set on every pooled connection: WAL so readers never
// block the writer, foreign keys on, immediate transactions so a read that
// turns into a write never fails with SQLITE_BUSY, and the SQLite time
// format so times round-trip (the driver's default appends Go's monotonic
// clock reading, which never compares equal). secure_delete zeroes what an
// update or delete frees, so erased ciphertexts do not linger in free pages.
// A page cache of 512 KiB per connection (not SQLite's 2 MiB) keeps the
// index pages look-ups need while the daemon's memory stays flat: with the
// default, the caches filled over a long backlog and dsr run --once peaked
// 16% higher on 10,000 emails than on 1,000 (make bench; the intake rate
// was the same either way). The WAL is checkpointed every 4,000 pages
// (16 MB) rather than SQLite's 1,000: a checkpoint copies each page once
// however often it was written since the last one (the tables' and
// indexes' last leaves are written by every commit) and syncs the
// database file, so fewer of them cost less (BenchmarkApply/sqlite: 1.40-1.50
// -> 1.30-1.31 ms of CPU per commit; 10,000 pages saved no more). The WAL
// file stays at its largest, 16 MB on disk; memory is unchanged.
var sqlitePragmas = []string{
	"_pragma=busy_timeout(10000)",
	"_pragma=cache_size(-512)",
	"_pragma=journal_mode(WAL)",
	"_pragma=wal_autocheckpoint(4000)",
	"_pragma=foreign_keys(1)",
	"_pragma=synchronous(NORMAL)",
	"_pragma=secure_delete(1)",
	"_txlock=immediate",
	"_time_format=sqlite",
}

func sqliteDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "file:") {
		// The driver strips the query of a plain path, so make it a URI.
		dsn = "file:" + dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	var add []string
	for _, p := range sqlitePragmas {
		key, _, _ := strings.Cut(p, "=")
		if key == "_pragma" {
			name, _, _ := strings.Cut(strings.TrimPrefix(p, "_pragma="), "(")
			if strings.Contains(dsn, "_pragma="+name+"(") {
				continue
			}
		} else if strings.Contains(dsn, key+"=") {
			continue
		}
		add = append(add, p)
	}
	if len(add) == 0 {
		return dsn
	}
	return dsn + sep + strings.Join(add, "&")
}

// Open connects to the database, sets SQLite's pragmas and runs the
// migrations the database has not seen.
func Open(ctx context.Context, o Options) (*Store, error) {
	s, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// open connects without migrating.
func open(ctx context.Context, o Options) (*Store, error) {
	if o.Keys == nil {
		return nil, errors.New("open store: no keyring")
	}
	s := &Store{keys: o.Keys, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	switch o.Driver {
	case "sqlite", "sqlite3", "":
		s.dialect = dialectSQLite
		sqlx.BindDriver("sqlite", sqlx.QUESTION)
		s.db, err = sqlx.Open("sqlite", sqliteDSN(o.DSN))
		if err == nil {
			// One writer at a time anyway; a few connections let readers
			// run beside it under WAL.
			s.db.SetMaxOpenConns(8)
		}
	case "postgres", "postgresql", "pgx":
		s.dialect = dialectPostgres
		var cfg *pgx.ConnConfig
		if cfg, err = pgx.ParseConfig(o.DSN); err == nil {
			if o.wrapConn != nil {
				dial := cfg.DialFunc
				cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := dial(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return o.wrapConn(c), nil
				}
			}
			s.db = sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
			s.db.SetMaxOpenConns(10)
			s.keepIdle(10)
		}
	default:
		return nil, fmt.Errorf("open store: unknown driver %q (want sqlite or postgres)", o.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: connect: %w", err)
	}
	return s, nil
}

// keepIdle keeps up to n connections open while idle, for a while.
// database/sql keeps two by default, and the daemon's parse goroutines,
// committer and mover use more at once: every connection beyond two was
// closed as soon as it was handed back and opened again moments later. On
// PostgreSQL that is a new backend each time (a fork, its catalog caches
// warmed again, every statement parsed and planned again): over 300
// emails make bench saw 41 backends come and go, and the server's CPU for
// them fell from 1.71 to 0.95 s with the pool kept. An idle daemon lets
// them go after a few minutes. SQLite keeps database/sql's two: an idle
// connection holds its page cache in dsr's own memory, and with eight
// kept dsr's peak over 10,000 emails rose 11.6% above its peak over
// 1,000 (make bench's memory part; the target is within 10%).
func (s *Store) keepIdle(n int) {
	s.db.SetMaxIdleConns(n)
	s.db.SetConnMaxIdleTime(5 * time.Minute)
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.mu.Lock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	s.stmts.m = nil
	s.stmts.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// db and tx share these, so helpers work inside and outside a transaction.
type queryer interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// forUpdate locks the selected rows until the transaction ends on
// PostgreSQL; SQLite has one writer, whose immediate transaction already
// holds the database.
func (s *Store) forUpdate() string {
	if s.dialect == dialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

func (s *Store) get(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	query = q.Rebind(query)
	if st := s.stmtFor(ctx, q, query); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return q.GetContext(ctx, dest, query, args...)
}

func (s *Store) sel(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	query = q.Rebind(query)
	if st := s.stmtFor(ctx, q, query); st != nil {
		return st.SelectContext(ctx, dest, args...)
	}
	return q.SelectContext(ctx, dest, query, args...)
}

func (s *Store) exec(ctx context.Context, q queryer, query string, args ...any) (sql.Result, error) {
	query = q.Rebind(query)
	if st := s.stmtFor(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

// insert runs an INSERT ... RETURNING id (pgx has no LastInsertId).
func (s *Store) insert(ctx context.Context, q queryer, query string, args ...any) (int64, error) {
	query = q.Rebind(query + " RETURNING id")
	var id int64
	if st := s.stmtFor(ctx, q, query); st != nil {
		err := st.QueryRowxContext(ctx, args...).Scan(&id)
		return id, err
	}
	err := q.QueryRowxContext(ctx, query, args...).Scan(&id)
	return id, err
}

// convertRows turns rows read from the database into the store's values
// with conv (which decrypts), failing at the first that cannot be.
func convertRows[R, T any](rows []R, conv func(R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, err := conv(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// inTx runs fn in one transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// stamp is the store's clock in UTC at PostgreSQL's precision, so a time
// written and read back compares equal on both databases.
func (s *Store) stamp() time.Time { return utc(s.now()) }

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// enc encrypts a value for table.column; nil and empty stay NULL.
func (s *Store) enc(col string, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, nil
	}
	ct, err := s.keys.seal(plaintext, col)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s: %w", col, err)
	}
	return ct, nil
}

func (s *Store) encString(col, v string) ([]byte, error) { return s.enc(col, []byte(v)) }

// sealRaw encrypts a chunk of a raw email as enc("messages.raw", chunk)
// does, into a buffer kept for the next: release gives it back, once the
// statement that stores it has been sent and has returned (the drivers
// copy a value they are given: SQLite's binds it with SQLITE_TRANSIENT,
// pgx encodes it into its own buffer).
func (s *Store) sealRaw(chunk []byte) (ct []byte, release func(), err error) {
	var buf []byte
	if b, ok := s.rawCTs.Get().(*[]byte); ok {
		buf = *b
	}
	ct, err = s.keys.sealTo(buf, chunk, "messages.raw")
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt messages.raw: %w", err)
	}
	return ct, func() {
		// A chunk is at most rawChunk: keep nothing larger.
		if cap(ct) <= rawChunk+1024 {
			b := ct[:0]
			s.rawCTs.Put(&b)
		}
	}, nil
}

func (s *Store) encJSON(col string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", col, err)
	}
	return s.enc(col, b)
}

func (s *Store) dec(col string, ct []byte) ([]byte, error) {
	if len(ct) == 0 {
		return nil, nil
	}
	pt, err := s.keys.open(ct, col)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", col, err)
	}
	return pt, nil
}

func (s *Store) decString(col string, ct []byte) (string, error) {
	b, err := s.dec(col, ct)
	return string(b), err
}

func (s *Store) decJSON(col string, ct []byte, v any) error {
	b, err := s.dec(col, ct)
	if err != nil || b == nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", col, err)
	}
	return nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
