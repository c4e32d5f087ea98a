package register

import (
	"testing"
	"time"
)

func TestEighteenthMatchesAgeOn(t *testing.T) {
	for _, dob := range []string{"2008-02-29", "2009-02-28", "2008-03-01", "2010-12-31", "2012-01-01"} {
		d, _ := time.Parse(time.DateOnly, dob)
		b := Eighteenth(d)
		if ageOn(d, b) != 18 || ageOn(d, b.AddDate(0, 0, -1)) != 17 {
			t.Errorf("%s: eighteenth %s disagrees with ageOn", dob, b.Format(time.DateOnly))
		}
	}
}
