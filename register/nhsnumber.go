package register

// ValidNHSNumber reports whether s is a well-formed NHS number: ten digits
// (spaces and dashes between them, as people write "943 476 5919", are
// ignored) whose last digit is the Modulus 11 check digit of the first
// nine. A check digit that works out as 10 means the number was never
// issued, so it is invalid.
func ValidNHSNumber(s string) bool {
	var d [10]int
	n := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if n == len(d) {
				return false
			}
			d[n] = int(r - '0')
			n++
		case r == ' ' || r == '-':
		default:
			return false
		}
	}
	if n != len(d) {
		return false
	}
	return nhsCheckDigit(d[:9]) == d[9]
}

// nhsCheckDigit returns the Modulus 11 check digit of the first nine
// digits, or 10 when no check digit can make the number valid.
func nhsCheckDigit(nine []int) int {
	sum := 0
	for i, v := range nine {
		sum += v * (10 - i) // weights 10 down to 2
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	return c
}
