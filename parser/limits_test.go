package parser

import (
	"errors"
	"fmt"
	"testing"
)

func TestReasonOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"no error", nil, ""},
		{"a reader's reason", unreadable(ReasonPDFScan, errors.New("no text")), ReasonPDFScan},
		{"wrapped", fmt.Errorf("attachment 2: %w", unreadable(ReasonPDFEncrypted, errors.New("user password"))), ReasonPDFEncrypted},
		{"no reason named", errors.New("unexpected EOF"), "the file could not be read"},
	} {
		if got := ReasonOf(tt.err); got != tt.want {
			t.Errorf("%s: ReasonOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
