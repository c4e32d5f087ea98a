package register

import (
	"strconv"
	"testing"
)

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9993149586", true},
		{"9995628198", true},
		{"9991058834", true},
		{"9999437753", true},
		{"9990920516", true},
		{"9999518087", true},
		{"9995186357", true},
		{"943 476 5919", true}, // the NHS's own example, written with spaces
		{"943-476-5919", true},
		{"9434765918", false},  // wrong check digit
		{"999314958", false},   // nine digits
		{"99931495860", false}, // eleven digits
		{"", false},
		{"999314958a", false},
		{"999.314.9586", false},
		{"９９９３１４９５８６", false}, // full-width digits are not ASCII digits
	}
	for _, tt := range tests {
		if got := ValidNHSNumber(tt.in); got != tt.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A number whose first nine digits give a check digit of 10 was never
// issued: no tenth digit can make it valid.
func TestValidNHSNumberCheckDigitTen(t *testing.T) {
	nine := []int{9, 9, 9, 0, 0, 0, 0, 0, 0}
	if c := nhsCheckDigit(nine); c != 10 {
		t.Fatalf("check digit of 999000000 = %d, want 10 (the test needs a check-digit-10 stem)", c)
	}
	for last := 0; last <= 9; last++ {
		n := "999000000" + strconv.Itoa(last)
		if ValidNHSNumber(n) {
			t.Errorf("ValidNHSNumber(%q) = true; its check digit is 10, so no number with that stem is valid", n)
		}
	}
}

func FuzzValidNHSNumber(f *testing.F) {
	for _, s := range []string{"9993149586", "943 476 5919", "9990000000", "", "12-34"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ValidNHSNumber(s)
		// An independent reading of the rule: collect digits, refuse
		// anything but digits, spaces and dashes.
		var digits []int
		ok := true
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9':
				digits = append(digits, int(r-'0'))
			case r == ' ' || r == '-':
			default:
				ok = false
			}
		}
		want := false
		if ok && len(digits) == 10 {
			sum := 0
			for i := 0; i < 9; i++ {
				sum += digits[i] * (10 - i)
			}
			r := sum % 11
			switch {
			case r == 0:
				want = digits[9] == 0
			case r == 1:
				want = false // check digit would be 10
			default:
				want = digits[9] == 11-r
			}
		}
		if got != want {
			t.Fatalf("ValidNHSNumber(%q) = %v, want %v", s, got, want)
		}
	})
}
