package parser

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// childEnv makes the test binary act as the PDF child (see
// NewChildPDFReader): "serve" runs ServePDFChild; "hang" and "oom" stand
// in for a PDF that hangs the library or exhausts memory.
const childEnv = "DSR_PDF_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		if err := ServePDFChild(context.Background(), os.Stdin, os.Stdout, DefaultLimits()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	case "hang":
		time.Sleep(time.Hour)
		os.Exit(0)
	case "oom":
		if err := limitAddressSpace(256 << 20); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var keep [][]byte
		for {
			b := make([]byte, 16<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	}
	fmt.Fprintln(os.Stderr, "unknown", childEnv)
	os.Exit(2)
}
