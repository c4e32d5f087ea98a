package harness

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresDB makes a database of its own for one test on the server
// DSR_TEST_POSTGRES names, dropped at the test's end, and returns its URL;
// without DSR_TEST_POSTGRES the test is skipped.
func PostgresDB(t testing.TB, prefix string) string {
	t.Helper()
	base := os.Getenv("DSR_TEST_POSTGRES")
	if base == "" {
		t.Skip("DSR_TEST_POSTGRES is not set; set it to a PostgreSQL URL to run this test on PostgreSQL")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
